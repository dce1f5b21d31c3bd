#include "policy.h"

#include "../platform.h"
#include "../stm32g071.h"
#include "events.h"
#include "protocol.h"

#define ACC_R 1u
#define ACC_W 2u

/* USART1 interrupt enables whose flags the bridge does not report and
 * clear (PROTOCOL.md 3, 6): enabling any of them would leave an interrupt
 * pending forever and starve the board. */
#define USART1_CR1_REFUSED (USART_CR1_RXNEIE | USART_CR1_TXEIE | USART_CR1_CMIE | \
                            USART_CR1_RTOIE | USART_CR1_EOBIE | USART_CR1_TXFEIE | \
                            USART_CR1_RXFFIE)
#define USART1_CR2_REFUSED (USART_CR2_LBDIE)
#define USART1_CR3_REFUSED (USART_CR3_CTSIE | USART_CR3_WUFIE | USART_CR3_TXFTIE | \
                            USART_CR3_TCBGTIE | USART_CR3_RXFTIE)

/* DMA1_ISR / IFCR bits of channels 1 and 2 */
#define DMA_EXPOSED_FLAGS 0xFFu

static struct {
    uint32_t arena_base;
    uint32_t arena_size;
    /* memory range checked when each channel was last started: what the
     * DMA works on, since CMAR stays at the base while CNDTR counts down */
    struct {
        uint32_t start;
        uint32_t len; /* 0: none recorded */
    } range[2];
} pol;

void policy_init(uint32_t arena_base, uint32_t arena_size)
{
    pol.arena_base = arena_base;
    pol.arena_size = arena_size;
    policy_reset();
}

void policy_reset(void)
{
    pol.range[0].len = 0;
    pol.range[1].len = 0;
}

bool policy_in_arena(uint32_t addr, uint32_t len)
{
    if (len == 0 || addr < pol.arena_base)
        return false;
    uint32_t off = addr - pol.arena_base;
    return off < pol.arena_size && len <= pol.arena_size - off;
}

/* Channel (1 or 2) whose CCR..CMAR block holds addr, with the register's
 * offset in it; 0 when addr is not a channel register. */
static unsigned dma_channel_of(uint32_t addr, uint32_t *off)
{
    for (unsigned ch = 1; ch <= 2; ch++) {
        uint32_t base = DMA1_CH_BASE(ch);
        if (addr >= base && addr <= base + 0xCu) {
            *off = addr - base;
            return ch;
        }
    }
    return 0;
}

static unsigned access_of(uint32_t addr)
{
    uint32_t off;
    if (addr & 3u)
        return 0;
    if (addr == DMA1_ISR_ADDR)
        return ACC_R;
    if (addr == DMA1_IFCR_ADDR)
        return ACC_W;
    if (dma_channel_of(addr, &off))
        return ACC_R | ACC_W;
    if (addr == DMAMUX1_CCR_ADDR(0) || addr == DMAMUX1_CCR_ADDR(1))
        return ACC_R | ACC_W;
    if (addr >= USART1_BASE && addr <= USART1_PRESC_ADDR) {
        if (addr == USART1_ISR_ADDR || addr == USART1_RDR_ADDR)
            return ACC_R;
        if (addr == USART1_ICR_ADDR || addr == USART1_RQR_ADDR || addr == USART1_TDR_ADDR)
            return ACC_W;
        return ACC_R | ACC_W;
    }
    return 0;
}

static bool channel_enabled(unsigned ch)
{
    return (plat_reg_read(DMA1_CCR_ADDR(ch)) & DMA_CCR_EN) != 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Whether [addr, addr + len) overlaps the memory of a DMA channel (1 or 2,
 * except `skip`) that is enabled and has data left to move (EN = 1 and
 * CNDTR != 0, or CIRC = 1): the range recorded at its start, and what its
 * registers say now, in case no start was recorded (PROTOCOL.md 2
 * MEM_WRITE, 6 DMA start checks). */
static bool overlaps_running_channel(uint32_t addr, uint32_t len, unsigned skip)
{
    for (unsigned ch = 1; ch <= 2; ch++) {
        if (ch == skip)
            continue;
        uint32_t ccr = plat_reg_read(DMA1_CCR_ADDR(ch));
        uint32_t cndtr = plat_reg_read(DMA1_CNDTR_ADDR(ch)) & DMA_CNDTR_MASK;
        if (!(ccr & DMA_CCR_EN) || (cndtr == 0 && !(ccr & DMA_CCR_CIRC)))
            continue;
        if (pol.range[ch - 1u].len &&
            overlaps(addr, len, pol.range[ch - 1u].start, pol.range[ch - 1u].len))
            return true;
        uint32_t msize = (ccr & DMA_CCR_MSIZE_MASK) >> DMA_CCR_MSIZE_SHIFT;
        uint64_t n = (ccr & DMA_CCR_MINC) ? (uint64_t)cndtr << msize : 1u << (msize & 3u);
        if (cndtr == 0)
            n = 1u << (msize & 3u);
        if (overlaps(addr, len, plat_reg_read(DMA1_CMAR_ADDR(ch)), n))
            return true;
    }
    return false;
}

/* PROTOCOL.md 6, DMA start checks, in the order the section lists them;
 * the first failure is the reason. ccr is the value being written. */
static uint8_t dma_start_check(unsigned ch, uint32_t ccr, uint32_t *start, uint32_t *len)
{
    uint32_t psize = (ccr & DMA_CCR_PSIZE_MASK) >> DMA_CCR_PSIZE_SHIFT;
    uint32_t msize = (ccr & DMA_CCR_MSIZE_MASK) >> DMA_CCR_MSIZE_SHIFT;
    bool to_periph = (ccr & DMA_CCR_DIR) != 0;

    if (ccr & DMA_CCR_MEM2MEM)
        return DSR_MEM2MEM;
    if (ccr & DMA_CCR_PINC)
        return DSR_PINC;
    uint32_t cmar = plat_reg_read(DMA1_CMAR_ADDR(ch));
    if (psize == 3u || msize == 3u || (cmar & ((1u << msize) - 1u)))
        return DSR_SIZE;
    uint32_t cndtr = plat_reg_read(DMA1_CNDTR_ADDR(ch)) & DMA_CNDTR_MASK;
    if (cndtr == 0)
        return DSR_CNDTR_ZERO;
    uint32_t cpar = plat_reg_read(DMA1_CPAR_ADDR(ch));
    if (cpar != (to_periph ? USART1_TDR_ADDR : USART1_RDR_ADDR))
        return DSR_PERIPH_ADDR;
    uint32_t mux = plat_reg_read(DMAMUX1_CCR_ADDR(ch - 1u));
    if (mux != (to_periph ? DMAMUX_REQ_USART1_TX : DMAMUX_REQ_USART1_RX))
        return DSR_DMAMUX;
    /* cndtr < 2^16 and msize <= 2: no overflow */
    uint32_t n = (ccr & DMA_CCR_MINC) ? cndtr << msize : 1u << msize;
    if (!policy_in_arena(cmar, n))
        return DSR_ARENA;
    /* Whatever the directions: a reception writing memory another channel
     * sends or receives into, or a transmit reading memory a reception is
     * writing, would hand the host bytes nobody chose. */
    if (overlaps_running_channel(cmar, n, ch))
        return DSR_OVERLAP;
    /* RM0444 DMA_CCRx.EN: EN cannot be set while TEIF is; the write would
     * leave the channel off and the host believing it started */
    if ((plat_reg_read(DMA1_ISR_ADDR) >> DMA_ISR_SHIFT(ch)) & DMA_FLAG_TEIF)
        return DSR_TEIF_SET;
    *start = cmar;
    *len = n;
    return 0;
}

/* DMA1_IFCR: CGIFx clears all of channel x's flags. ES0418 (STM32G071
 * errata), "DMA disable failure and error flag omission upon simultaneous
 * transfer error and global flag clear": a CGIFx written in the cycle a
 * transfer error occurs leaves the channel enabled and TEIFx clear. The
 * workaround is the erratum's: on a channel that is enabled, CGIFx is
 * replaced by its individual clear bits (CTCIFx, CHTIFx, CTEIFx), which
 * clear the same flags (GIFx is their OR). */
static uint32_t ifcr_without_cgif_on_running(uint32_t value)
{
    for (unsigned ch = 1; ch <= 2; ch++) {
        uint32_t cgif = DMA_FLAG_GIF << DMA_ISR_SHIFT(ch);
        if ((value & cgif) && channel_enabled(ch)) {
            value &= ~cgif;
            value |= (DMA_FLAG_TCIF | DMA_FLAG_HTIF | DMA_FLAG_TEIF) << DMA_ISR_SHIFT(ch);
        }
    }
    return value;
}

/* DMAMUX1 CxCR of an exposed channel: off, or exactly USART1's request
 * (DMAREQ_ID, nothing else). USART2's requests belong to the host link
 * (DMA1 channels 3 and 4), and a request routed to two channels at once
 * is unpredictable (RM0444 DMA request mapping). */
static bool dmamux_value_allowed(uint32_t value)
{
    return value == 0u || value == DMAMUX_REQ_USART1_RX || value == DMAMUX_REQ_USART1_TX;
}

/* The write that sets EN, after the start checks passed. Interrupts are
 * masked from the count's restart to the read-back, so an event of the
 * new transfer carries its start number and nobody sees a start that did
 * not happen. */
static uint8_t start_channel(unsigned ch, uint32_t addr, uint32_t value, uint32_t start, uint32_t len,
                             uint32_t *detail)
{
    uint32_t key = plat_irq_lock();
    struct ev_channel_counts before = ev_channel_counts((uint8_t)ch);
    ev_dma_enabling((uint8_t)ch);
    plat_dsb(); /* PROTOCOL.md 7: earlier memory writes land first */
    plat_reg_write(addr, value);
    bool started = (plat_reg_read(addr) & DMA_CCR_EN) != 0;
    if (!started)
        ev_channel_counts_restore((uint8_t)ch, before);
    plat_irq_unlock(key);
    if (!started) {
        /* the chip kept EN clear (a transfer error flag raised meanwhile) */
        *detail = DSR_TEIF_SET;
        return ST_DMA_START_REFUSED;
    }
    pol.range[ch - 1u].start = start;
    pol.range[ch - 1u].len = len;
    return ST_OK;
}

/* Checks and performs a write whose permission was already checked. */
static uint8_t checked_write(uint32_t addr, uint32_t value, uint32_t *detail)
{
    uint32_t off;
    unsigned ch;

    *detail = addr;
    if (addr == DMA1_IFCR_ADDR && (value & ~(uint32_t)DMA_EXPOSED_FLAGS))
        return ST_VALUE_NOT_ALLOWED;
    if ((addr == USART1_CR1_ADDR && (value & USART1_CR1_REFUSED)) ||
        (addr == USART1_CR2_ADDR && (value & USART1_CR2_REFUSED)) ||
        (addr == USART1_CR3_ADDR && (value & USART1_CR3_REFUSED)))
        return ST_VALUE_NOT_ALLOWED;
    if (addr == DMAMUX1_CCR_ADDR(0) || addr == DMAMUX1_CCR_ADDR(1)) {
        if (!dmamux_value_allowed(value))
            return ST_VALUE_NOT_ALLOWED;
        if (channel_enabled((addr - DMAMUX1_BASE) / 4u + 1u))
            return ST_BUSY;
    } else if (addr == DMA1_IFCR_ADDR) {
        value = ifcr_without_cgif_on_running(value);
    } else if ((ch = dma_channel_of(addr, &off)) != 0) {
        if (off != 0) {
            /* CNDTR, CPAR, CMAR of a running channel: the hardware ignores
             * the write and the start checks would no longer describe it */
            if (channel_enabled(ch))
                return ST_BUSY;
        } else if (!(value & DMA_CCR_EN)) {
            /* Disabling: EN goes first, alone, so the channel has stopped
             * before its other fields change (they are not writable while
             * EN = 1, RM0444 DMA_CCRx) */
            uint32_t old = plat_reg_read(addr);
            if ((old & DMA_CCR_EN) && (old & ~DMA_CCR_EN) != value)
                plat_reg_write(addr, old & ~DMA_CCR_EN);
        } else {
            /* Only a 0 -> 1 change of EN starts a transfer. A write with
             * EN = 1 to a running channel would change what it does
             * (RM0444 DMA_CCR: the other fields are not writable while
             * EN = 1) and re-record its range with the CNDTR of now, so the
             * range protected from MEM_WRITE would shrink under the DMA:
             * refused, the channel must be disabled first. */
            if (channel_enabled(ch))
                return ST_BUSY;
            uint32_t start = 0, len = 0;
            uint8_t reason = dma_start_check(ch, value, &start, &len);
            if (reason) {
                *detail = reason;
                return ST_DMA_START_REFUSED;
            }
            return start_channel(ch, addr, value, start, len, detail);
        }
    }
    plat_reg_write(addr, value);
    return ST_OK;
}

uint8_t policy_reg_read(uint32_t addr, uint32_t *value, uint32_t *detail)
{
    *detail = addr;
    if (!(access_of(addr) & ACC_R))
        return ST_REG_NOT_ALLOWED;
    uint32_t v = plat_reg_read(addr);
    if (addr == DMA1_ISR_ADDR)
        v &= DMA_EXPOSED_FLAGS;
    *value = v;
    return ST_OK;
}

uint8_t policy_reg_write(uint32_t addr, uint32_t value, uint32_t *detail)
{
    *detail = addr;
    if (!(access_of(addr) & ACC_W))
        return ST_REG_NOT_ALLOWED;
    return checked_write(addr, value, detail);
}

uint8_t policy_reg_masked_write(uint32_t addr, uint32_t mask, uint32_t value, uint32_t *detail)
{
    *detail = addr;
    /* the old value is read first, so the register must be readable too */
    if (access_of(addr) != (ACC_R | ACC_W))
        return ST_REG_NOT_ALLOWED;
    uint32_t old = plat_reg_read(addr);
    return checked_write(addr, (old & ~mask) | (value & mask), detail);
}

uint8_t policy_channel_status(uint8_t channel, uint32_t v[4], uint32_t *detail)
{
    if (channel < 1u || channel > 2u) {
        *detail = channel;
        return ST_REG_NOT_ALLOWED;
    }
    uint32_t shift = DMA_ISR_SHIFT(channel);
    uint32_t key = plat_irq_lock();
    uint32_t ccr = plat_reg_read(DMA1_CCR_ADDR(channel));
    /* CNDTR between two equal reads of the flags: a flag raised (and
     * CNDTR reloaded, in circular mode) between the reads would pair an
     * old count with a new position. With interrupts masked flags are
     * only ever set, so this ends after at most three more rounds. */
    uint32_t flags = (plat_reg_read(DMA1_ISR_ADDR) >> shift) & DMA_FLAGS_ALL;
    uint32_t cndtr;
    for (;;) {
        cndtr = plat_reg_read(DMA1_CNDTR_ADDR(channel)) & DMA_CNDTR_MASK;
        uint32_t again = (plat_reg_read(DMA1_ISR_ADDR) >> shift) & DMA_FLAGS_ALL;
        if (again == flags)
            break;
        flags = again;
    }
    /* raised but not yet handled: its interrupt will count it (only the
     * flags whose interrupt is enabled are ever counted) */
    uint32_t pending = flags & ccr & (DMA_FLAG_HTIF | DMA_FLAG_TCIF);
    uint16_t done = (uint16_t)(ev_completions(channel) + ((pending & DMA_FLAG_HTIF) ? 1u : 0u) +
                               ((pending & DMA_FLAG_TCIF) ? 1u : 0u));
    uint32_t usart_isr = plat_reg_read(USART1_ISR_ADDR);
    plat_irq_unlock(key);
    v[0] = ccr;
    v[1] = cndtr | ((uint32_t)done << 16);
    v[2] = flags | ((uint32_t)ev_starts(channel) << 16);
    v[3] = usart_isr;
    return ST_OK;
}

uint8_t policy_mem_write_check(uint32_t addr, uint32_t len)
{
    if (!policy_in_arena(addr, len))
        return ST_OUT_OF_ARENA;
    return overlaps_running_channel(addr, len, 0) ? ST_BUSY : ST_OK;
}
