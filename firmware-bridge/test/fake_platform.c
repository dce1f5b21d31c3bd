#include "fake_platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/platform.h"
#include "../src/stm32g071.h"

struct fake_entry fake_log[FAKE_LOG_MAX];
size_t fake_log_len;
unsigned long fake_reg_writes;
unsigned long fake_mem_writes;
uint8_t fake_arena[FAKE_ARENA_SIZE];
uint8_t fake_tx[FAKE_TX_MAX];
size_t fake_tx_len;
unsigned fake_irq_locked;
uint32_t fake_link_baud = 115200u;
uint32_t fake_boot_epoch = FAKE_BOOT_EPOCH;
uint32_t fake_link_switch_to;
struct plat_status fake_status;
bool fake_en_stuck[2];
unsigned long fake_link_frames_ok;
static const uint32_t fake_rates[] = { 115200u, 230400u, 460800u, 921600u, 1000000u, 2000000u };
size_t fake_tx_room;
unsigned long fake_tx_waits;
uint32_t fake_micros_now;
uint32_t fake_micros_step;
unsigned fake_violations;
const char *fake_violation_what;
bool fake_abort_on_violation;

/* The registers the bridge may touch, written out independently of the
 * core's allow-list. */
static const uint32_t known[] = {
    0x40020000, 0x40020004,                         /* DMA1 ISR, IFCR */
    0x40020008, 0x4002000C, 0x40020010, 0x40020014, /* channel 1 */
    0x4002001C, 0x40020020, 0x40020024, 0x40020028, /* channel 2 */
    0x40020800, 0x40020804,                         /* DMAMUX1 C0CR, C1CR */
    0x40013800, 0x40013804, 0x40013808, 0x4001380C, 0x40013810, 0x40013814,
    0x40013818, 0x4001381C, 0x40013820, 0x40013824, 0x40013828, 0x4001382C,
};
#define NKNOWN (sizeof known / sizeof known[0])
static uint32_t regs[NKNOWN];

/* What each channel's DMA was started on, as the fake sees it: used to
 * move the DMA (fake_dma_step) and to catch host writes into memory the
 * DMA has still to read or write. */
struct dma_start {
    uint32_t cmar;
    uint32_t items;
    uint32_t size; /* bytes per item */
    bool minc, circ;
};
static struct dma_start started[2];


static void violation(const char *what)
{
    if (!fake_violations)
        fake_violation_what = what;
    fake_violations++;
    if (fake_abort_on_violation) {
        fprintf(stderr, "fake platform: invariant violated: %s\n", what);
        abort();
    }
}

static int index_of(uint32_t addr)
{
    for (size_t i = 0; i < NKNOWN; i++)
        if (known[i] == addr)
            return (int)i;
    return -1;
}

static void log_op(enum fake_op op, uint32_t addr, uint32_t value)
{
    if (fake_log_len < FAKE_LOG_MAX)
        fake_log[fake_log_len++] = (struct fake_entry){ op, addr, value };
}

static void reset_regs(void)
{
    memset(regs, 0, sizeof regs);
    regs[index_of(0x4001381C)] = 0xC0; /* USART1_ISR reset value */
}

void fake_reset(void)
{
    reset_regs();
    memset(fake_arena, 0, sizeof fake_arena);
    fake_log_len = 0;
    fake_reg_writes = 0;
    fake_mem_writes = 0;
    fake_tx_len = 0;
    fake_irq_locked = 0;
    fake_link_baud = 115200u;
    fake_boot_epoch = FAKE_BOOT_EPOCH;
    fake_link_switch_to = 0;
    fake_link_frames_ok = 0;
    memset(&fake_status, 0, sizeof fake_status);
    fake_en_stuck[0] = fake_en_stuck[1] = false;
    memset(fake_changes, 0, sizeof fake_changes);
    memset(started, 0, sizeof started);
    fake_tx_room = FAKE_TX_MAX;
    fake_tx_waits = 0;
    fake_micros_now = 0;
    fake_micros_step = 1;
    fake_violations = 0;
    fake_violation_what = 0;
}

void fake_log_clear(void)
{
    fake_log_len = 0;
}

long fake_log_find(size_t from, enum fake_op op, uint32_t addr)
{
    for (size_t i = from; i < fake_log_len; i++)
        if (fake_log[i].op == op && (addr == ~0u || fake_log[i].addr == addr))
            return (long)i;
    return -1;
}

uint32_t fake_get(uint32_t addr)
{
    int i = index_of(addr);
    return i < 0 ? 0 : regs[i];
}

void fake_set(uint32_t addr, uint32_t value)
{
    int i = index_of(addr);
    if (i >= 0)
        regs[i] = value;
}

struct fake_change fake_changes[4];

uint32_t plat_reg_read(uint32_t addr)
{
    int i = index_of(addr);
    /* scheduled changes whose time has come (a flag rising while the core polls) */
    for (unsigned k = 0; k < 4; k++) {
        struct fake_change *c = &fake_changes[k];
        if (c->addr == addr && c->addr != 0 && fake_micros_now >= c->at_us && i >= 0) {
            regs[i] |= c->set;
            c->addr = 0;
        }
    }
    log_op(FK_REG_READ, addr, i < 0 ? 0 : regs[i]);
    if (i < 0) {
        violation("read of a register outside the bridge's set");
        return 0;
    }
    return regs[i];
}

static bool in_arena_range(uint64_t addr, uint64_t n)
{
    return n > 0 && addr >= FAKE_ARENA_BASE && addr + n <= (uint64_t)FAKE_ARENA_BASE + FAKE_ARENA_SIZE;
}


static void dma_started(unsigned ch, uint32_t ccr)
{
    uint32_t base = 0x40020008u + 0x14u * (ch - 1u);
    started[ch - 1u].cmar = fake_get(base + 12);
    started[ch - 1u].items = fake_get(base + 4) & 0xFFFFu;
    started[ch - 1u].size = 1u << ((ccr >> 10) & 3u);
    started[ch - 1u].minc = (ccr >> 7) & 1u;
    started[ch - 1u].circ = (ccr >> 5) & 1u;
}

/* The memory the DMA of `ch` may still touch: [*lo, *hi); false if none. */
static bool dma_live_range(unsigned ch, uint64_t *lo, uint64_t *hi)
{
    uint32_t base = 0x40020008u + 0x14u * (ch - 1u);
    uint32_t cndtr = fake_get(base + 4) & 0xFFFFu;
    if (!(fake_get(base) & 1u) || (cndtr == 0 && !started[ch - 1u].circ))
        return false;
    const struct dma_start *s = &started[ch - 1u];
    if (!s->minc) {
        *lo = s->cmar;
        *hi = (uint64_t)s->cmar + s->size;
    } else if (s->circ) {
        *lo = s->cmar;
        *hi = (uint64_t)s->cmar + (uint64_t)s->items * s->size;
    } else {
        *lo = (uint64_t)s->cmar + (uint64_t)(s->items - cndtr) * s->size;
        *hi = (uint64_t)s->cmar + (uint64_t)s->items * s->size;
    }
    return true;
}

void fake_dma_step(unsigned ch, uint32_t items, bool error)
{
    if (ch < 1 || ch > 2)
        return;
    uint32_t base = 0x40020008u + 0x14u * (ch - 1u);
    uint32_t ccr = fake_get(base);
    if (!(ccr & 1u))
        return;
    uint32_t shift = 4u * (ch - 1u);
    int isr = index_of(0x40020000);
    if (error) {
        /* RM0444 DMA: on a transfer error EN is cleared by hardware */
        regs[index_of(base)] = ccr & ~1u;
        regs[isr] |= (0x9u << shift); /* TEIF and GIF */
        return;
    }
    const struct dma_start *s = &started[ch - 1u];
    for (uint32_t k = 0; k < items; k++) {
        uint32_t cndtr = fake_get(base + 4) & 0xFFFFu;
        if (cndtr == 0)
            return;
        uint32_t done = s->items - cndtr;
        uint32_t at = s->cmar + (s->minc ? done * s->size : 0u);
        if (!in_arena_range(at, s->size))
            violation("DMA moved data outside the arena");
        else if (!(ccr & (1u << 4))) /* DIR = 0: the DMA writes memory */
            memset(fake_arena + (at - FAKE_ARENA_BASE), 0xD5, s->size);
        cndtr--;
        if (cndtr == s->items / 2u)
            regs[isr] |= (0x5u << shift); /* HTIF and GIF */
        if (cndtr == 0) {
            regs[isr] |= (0x3u << shift); /* TCIF and GIF */
            if (s->circ)
                cndtr = s->items;
        }
        regs[index_of(base + 4)] = cndtr;
    }
}

/* An independent statement of the DMA start rules (PROTOCOL.md 6). */
static bool start_is_safe(unsigned ch, uint32_t ccr)
{
    uint32_t base = 0x40020008u + 0x14u * (ch - 1u);
    uint32_t cndtr = fake_get(base + 4) & 0xFFFFu;
    uint32_t cpar = fake_get(base + 8);
    uint32_t cmar = fake_get(base + 12);
    uint32_t mux = fake_get(0x40020800u + 4u * (ch - 1u));
    uint32_t msize = (ccr >> 10) & 3u, psize = (ccr >> 8) & 3u;
    bool dir = (ccr >> 4) & 1u;
    if (ccr & ((1u << 14) | (1u << 6)))
        return false;
    if (msize == 3 || psize == 3 || cndtr == 0)
        return false;
    if (cmar % (1u << msize))
        return false;
    if (cpar != (dir ? 0x40013828u : 0x40013824u) || mux != (dir ? 51u : 50u))
        return false;
    uint64_t len = (ccr & (1u << 7)) ? (uint64_t)cndtr << msize : 1u << msize;
    if (!(cmar >= FAKE_ARENA_BASE && (uint64_t)cmar + len <= (uint64_t)FAKE_ARENA_BASE + FAKE_ARENA_SIZE))
        return false;
    /* memory the other channel may still touch is not shared, whatever
     * the directions */
    uint64_t lo, hi;
    return !(dma_live_range(3u - ch, &lo, &hi) && cmar < hi && lo < (uint64_t)cmar + len);
}

void plat_reg_write(uint32_t addr, uint32_t value)
{
    int i = index_of(addr);
    bool after_dsb = fake_log_len > 0 && fake_log[fake_log_len - 1].op == FK_DSB;
    log_op(FK_REG_WRITE, addr, value);
    fake_reg_writes++;
    if (i < 0) {
        violation("write to a register outside the bridge's set");
        return;
    }
    switch (addr) {
    case 0x40020000: case 0x4001381C: case 0x40013824:
        violation("write to a read-only register");
        return;
    case 0x40020004: /* IFCR clears ISR bits; CGIF clears the channel's nibble */
        if (value & ~0xFFu)
            violation("IFCR write touching other channels");
        for (unsigned ch = 0; ch < 2; ch++) {
            uint32_t nib = (value >> (4u * ch)) & 0xFu;
            if ((nib & 1u) && (regs[index_of(0x40020008u + 0x14u * ch)] & 1u))
                violation("CGIF written for a running channel (ES0418 DMA erratum)");
            if (nib & 1u)
                nib = 0xFu;
            uint32_t *isr = &regs[index_of(0x40020000)];
            *isr &= ~(nib << (4u * ch));
            /* GIF is the OR of the channel's other flags (RM0444 DMA_ISR) */
            if (!((*isr >> (4u * ch)) & 0xEu))
                *isr &= ~(1u << (4u * ch));
        }
        return;
    case 0x40013820: /* ICR clears ISR bits */
        regs[index_of(0x4001381C)] &= ~value;
        return;
    case 0x40013800:
        if (value & ((1u << 5) | (1u << 7)))
            violation("USART1_CR1 RXNEIE/TXEIE set");
        break;
    case 0x40020008: case 0x4002001C: {
        unsigned ch = addr == 0x40020008u ? 1u : 2u;
        bool was_on = regs[i] & 1u;
        if ((value & 1u) && was_on) {
            /* RM0444 DMA_CCR: the other fields are read-only while EN = 1,
             * and the transfer goes on as started */
            violation("CCR written with EN = 1 while the channel runs");
        } else if (value & 1u) {
            if (!after_dsb)
                violation("CCR.EN written without a DSB just before");
            if (!start_is_safe(ch, value))
                violation("unsafe DMA start");
            if (!fake_irq_locked)
                violation("CCR.EN written with interrupts enabled (the start count races the handler)");
            /* RM0444 DMA_CCRx.EN: EN stays 0 while TEIF is set */
            if ((regs[index_of(0x40020000)] >> (4u * (ch - 1u))) & 0x8u) {
                violation("CCR.EN written while TEIF is set (the chip ignores it)");
                value &= ~1u;
            } else if (fake_en_stuck[ch - 1u]) {
                value &= ~1u;
            } else {
                dma_started(ch, value);
            }
        } else if (was_on && (value & ~1u) != (regs[i] & ~1u)) {
            /* RM0444 DMA_CCRx: the other fields are read-only while EN = 1 */
            violation("CCR fields changed in the write that clears EN");
        }
        break;
    }
    case 0x4002000C: case 0x40020020:
        value &= 0xFFFFu; /* CNDTR is 16 bits */
        break;
    default:
        break;
    }
    regs[i] = value;
}

static bool in_arena(uint32_t addr, size_t n)
{
    return n > 0 && addr >= FAKE_ARENA_BASE &&
           (uint64_t)addr + n <= (uint64_t)FAKE_ARENA_BASE + FAKE_ARENA_SIZE;
}

void plat_mem_read(uint32_t addr, uint8_t *dst, size_t n)
{
    log_op(FK_MEM_READ, addr, (uint32_t)n);
    if (!in_arena(addr, n)) {
        violation("memory read outside the arena");
        return;
    }
    memcpy(dst, fake_arena + (addr - FAKE_ARENA_BASE), n);
}

void plat_mem_write(uint32_t addr, const uint8_t *src, size_t n)
{
    log_op(FK_MEM_WRITE, addr, (uint32_t)n);
    fake_mem_writes++;
    if (!in_arena(addr, n)) {
        violation("memory write outside the arena");
        return;
    }
    for (unsigned ch = 1; ch <= 2; ch++) {
        uint64_t lo, hi;
        if (dma_live_range(ch, &lo, &hi) && addr < hi && lo < (uint64_t)addr + n)
            violation("host memory write into memory a running DMA has still to use");
    }
    memcpy(fake_arena + (addr - FAKE_ARENA_BASE), src, n);
}

uint32_t plat_irq_lock(void)
{
    return fake_irq_locked++;
}

void plat_irq_unlock(uint32_t key)
{
    if (fake_irq_locked == 0 || key != fake_irq_locked - 1u)
        violation("interrupts unmasked out of order");
    fake_irq_locked = key;
}

void plat_dsb(void)
{
    log_op(FK_DSB, 0, 0);
}

void plat_dmb(void)
{
    log_op(FK_DMB, 0, 0);
}

uint32_t plat_micros(void)
{
    uint32_t t = fake_micros_now;
    fake_micros_now += fake_micros_step;
    return t;
}

void plat_reset_peripherals(void)
{
    log_op(FK_RESET, 0, 0);
    reset_regs();
}

void plat_hello_info(struct plat_info *info)
{
    info->dev_id = 0x460;
    info->rev_id = 0x2000;
    for (int i = 0; i < 12; i++)
        info->uid[i] = (uint8_t)(0xA0 + i);
    info->arena_base = FAKE_ARENA_BASE;
    info->arena_size = FAKE_ARENA_SIZE;
    info->boot_epoch = fake_boot_epoch;
    info->usart1_clock_hz = 64000000u;
    info->link_baud = fake_link_baud;
    info->boot_link_baud = 115200u;
    info->rx_buffer = 2047u;
    info->rate_count = (uint8_t)(sizeof fake_rates / sizeof fake_rates[0]);
    info->rates = fake_rates;
}

void plat_board_status(struct plat_status *st)
{
    *st = fake_status;
}

void plat_link_switch(uint32_t baud)
{
    fake_link_switch_to = baud;
}

void plat_link_frame_ok(void)
{
    fake_link_frames_ok++;
}

void plat_link_frame_dropped(void)
{
    fake_status.link_frames_dropped++;
}

static size_t reserved;

void plat_tx_reserve(size_t n)
{
    if (fake_irq_locked)
        violation("transmit reservation with interrupts masked (it may wait for the transmitter)");
    if (n > fake_tx_room) {
        /* the transmitter drains the queue while the caller waits */
        fake_tx_waits++;
        fake_tx_room = FAKE_TX_MAX;
    }
    if (fake_tx_len + n > FAKE_TX_MAX)
        fake_tx_len = 0; /* the fuzzer sends a lot: start over */
    reserved = n;
}

void plat_tx_put(uint8_t b)
{
    if (fake_tx_room)
        fake_tx_room--;
    if (reserved == 0)
        violation("transmit byte without a reservation");
    else
        reserved--;
    fake_tx[fake_tx_len++] = b;
}

void plat_tx_commit(void)
{
    reserved = 0;
}
