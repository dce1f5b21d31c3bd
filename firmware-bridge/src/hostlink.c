/*
 * The host link: USART2 on PA2 (TX) / PA3 (RX), AF1, 8N1, from the 64 MHz
 * PCLK, moved by DMA both ways so the core spends no time per byte.
 *
 * Receive: DMA1 channel 3 (DMAMUX request USART2_RX) fills a 4 KiB ring
 * in circular mode. The main loop reads the ring in runs, from where it
 * stopped to where the DMA is (CNDTR). It is woken by USART2's character
 * match on 0x00 (a frame's delimiter arrived), by IDLE (the line went
 * quiet: a frame cut short, or noise) and by the channel's half and full
 * transfer flags (a long frame). The host never has more than the ring's
 * size of requests unanswered (HELLO's rxBuffer), so the DMA never laps
 * the reader; if it does anyway, the bytes lost are counted.
 *
 * Transmit: frames are encoded into a 2 KiB ring; DMA1 channel 4 (DMAMUX
 * request USART2_TX) sends each contiguous run of it, started again from
 * its transfer-complete interrupt while the ring has more.
 *
 * Rate: the link boots at LINK_BAUD. SET_LINK_BAUD switches USART2 once
 * everything queued has left; until a valid frame arrives at the new rate
 * (within about 5 s, counted by SysTick), and whenever a 0x00 arrives with
 * a framing error (a host at a slower rate opening the port), it goes back
 * to the boot rate. A reset that is not a power-up (the reset button, the
 * watchdog, a fault, a host's reset request) keeps the rate in .noinit and
 * starts there, unconfirmed: a host still at that rate hears the BOOT event
 * and learns of the reset at once, and a host that went back to the boot
 * rate sends a 0x00 that brings the board there too.
 */
#include "hostlink.h"

#include "boot_epoch.h"
#include "clock.h"
#include "led.h"
#include "cm0.h"
#include "platform.h"
#include "stm32g071.h"

#define RX_RING_SIZE 4096u
#define TX_RING_SIZE 2048u
#define RX_CH 3u /* DMA1 channel 3: DMAMUX1 channel 2 */
#define TX_CH 4u /* DMA1 channel 4: DMAMUX1 channel 3 */
/* The probation after a switch: long enough for the slowest host transport
 * to change rate and send its first frame (WebSerial closes and reopens its
 * port for that, which can take seconds). Counted in SysTick wraps (2^24
 * core cycles: 262 ms at 64 MHz, 1.05 s at 16 MHz), so the number of wraps
 * follows the clock the board reached. */
#define PROBATION_MS 5000u
static uint8_t fallback_wraps;

static const uint32_t candidate_rates[] = { 115200u, 230400u, 460800u, 921600u, 1000000u, 2000000u };
#define CANDIDATES (sizeof candidate_rates / sizeof candidate_rates[0])
/* The candidates USART2 can make from the clock reached (all of them at
 * 64 MHz; at 16 MHz, after a PLL that did not lock, up to 1 Mbaud). */
static uint32_t rates[CANDIDATES];
static uint8_t rate_count;

/* Stops a channel: EN alone first, since the rest of CCR is read-only while
 * EN = 1 (RM0444 §10.6.3), then the rest. */
static void dma_stop(dma_channel_t *c)
{
    c->CCR &= ~DMA_CCR_EN;
    c->CCR = 0;
}

static uint8_t rx_ring[RX_RING_SIZE] __attribute__((section(".link"), aligned(4)));
static uint8_t tx_ring[TX_RING_SIZE] __attribute__((section(".link"), aligned(4)));

static struct {
    uint16_t rd;                /* next byte to read */
    volatile uint32_t halves;   /* half and full transfers of the ring (interrupt) */
    uint32_t halves_read;       /* half boundaries the reader has crossed */
    volatile uint32_t overruns; /* bytes lost: the DMA lapped the reader, or ORE */
    volatile uint32_t errors;   /* framing, noise and parity errors */
    uint32_t frames_dropped;    /* request frames refused or cut off by a switch */
} rx;

static struct {
    volatile uint16_t head; /* written by the main loop (on commit) */
    volatile uint16_t tail; /* advanced by the DMA's completion interrupt */
    uint16_t wr;            /* write cursor inside the reservation */
    volatile uint16_t run;  /* bytes of the transfer in progress, 0 when idle */
} tx;

static struct {
    uint32_t baud;                /* in use now */
    uint32_t pending;             /* switch to this once the transmitter is idle, or 0 */
    volatile uint8_t unconfirmed; /* switched, no valid frame yet */
    volatile uint8_t wraps;       /* SysTick wraps since the switch */
    volatile uint8_t fall_back;   /* asked by an interrupt: back to LINK_BAUD */
    uint8_t lead_zero;            /* the next frame after a rate change begins with 0x00 */
    uint32_t fallbacks;           /* times it went back */
} rate;

static uint32_t brr_for(uint32_t baud)
{
    uint32_t pclk = clock_pclk_hz();
    return (pclk + baud / 2u) / baud; /* OVER8 = 0 */
}

static void usart_on(uint32_t baud)
{
    USART2->CR1 = 0; /* BRR and CR2/CR3 are writable only with UE = 0 */
    USART2->BRR = brr_for(baud);
    USART2->CR2 = 0u << USART_CR2_ADD_SHIFT; /* match the frame delimiter */
    USART2->CR3 = USART_CR3_DMAR | USART_CR3_DMAT | USART_CR3_EIE;
    USART2->ICR = USART_ICR_ALL;
    USART2->CR1 = USART_CR1_CMIE | USART_CR1_IDLEIE | USART_CR1_TE | USART_CR1_RE | USART_CR1_UE;
    rate.baud = baud;
    boot_keep_link_baud(baud);
}

static bool offered(uint32_t baud)
{
    for (size_t i = 0; i < rate_count; i++)
        if (rates[i] == baud)
            return true;
    return false;
}

/* BRR of at least 16 (RM0444 USART_BRR with OVER8 = 0) and within 1 % of
 * the rate: well inside a receiver's tolerance. */
static bool makeable(uint32_t baud)
{
    uint32_t brr = brr_for(baud);
    if (brr < 16u)
        return false;
    uint32_t actual = clock_pclk_hz() / brr;
    uint32_t error = actual > baud ? actual - baud : baud - actual;
    return error * 100u <= baud;
}

void hostlink_init(void)
{
    /* PA2, PA3: alternate function 1; pull-up on RX so a floating line
     * reads idle */
    GPIOA->MODER = (GPIOA->MODER & ~((3u << 4) | (3u << 6))) | (GPIO_MODE_AF << 4) | (GPIO_MODE_AF << 6);
    GPIOA->AFR[0] = (GPIOA->AFR[0] & ~((0xFu << 8) | (0xFu << 12))) | (1u << 8) | (1u << 12);
    GPIOA->PUPDR = (GPIOA->PUPDR & ~(3u << 6)) | (GPIO_PULL_UP << 6);

    /* receive: circular into the ring, half and full transfer flags wake the loop */
    dma_channel_t *r = &DMA1->CH[RX_CH - 1u];
    dma_stop(r);
    DMAMUX1->CCR[RX_CH - 1u] = DMAMUX_REQ_USART2_RX;
    r->CPAR = USART2_BASE + USART_RDR_OFF;
    r->CMAR = (uint32_t)(uintptr_t)rx_ring;
    r->CNDTR = RX_RING_SIZE;
    r->CCR = DMA_CCR_MINC | DMA_CCR_CIRC | DMA_CCR_HTIE | DMA_CCR_TCIE | DMA_CCR_EN;

    /* transmit: one run at a time, started by plat_tx_commit */
    dma_channel_t *t = &DMA1->CH[TX_CH - 1u];
    dma_stop(t);
    DMAMUX1->CCR[TX_CH - 1u] = DMAMUX_REQ_USART2_TX;
    t->CPAR = USART2_BASE + USART_TDR_OFF;

    rx.rd = 0;
    tx.head = tx.tail = tx.run = 0;
    rate.pending = 0;
    rate.fall_back = 0;
    rate.lead_zero = 0;
    rate.wraps = 0;
    /* whole wraps, rounded up: 20 at 64 MHz (5.2 s), 5 at 16 MHz (5.2 s) */
    fallback_wraps = (uint8_t)((PROBATION_MS * (clock_pclk_hz() / 1000u) + SYSTICK_MAX) / (SYSTICK_MAX + 1u));
    rate_count = 0;
    for (size_t i = 0; i < CANDIDATES; i++)
        if (makeable(candidate_rates[i]))
            rates[rate_count++] = candidate_rates[i];
    uint32_t kept = boot_kept_link_baud();
    if (kept != LINK_BAUD && offered(kept)) {
        /* the rate from before the reset, on probation as after a switch */
        usart_on(kept);
        rate.unconfirmed = 1;
    } else {
        rate.unconfirmed = 0;
        usart_on(LINK_BAUD);
    }
}

/* ---- receive ---------------------------------------------------------- */

static uint16_t rx_write_index(void)
{
    uint32_t left = DMA1->CH[RX_CH - 1u].CNDTR & DMA_CNDTR_MASK;
    return (uint16_t)((RX_RING_SIZE - left) % RX_RING_SIZE);
}

bool hostlink_rx_available(void)
{
    return rx_write_index() != rx.rd;
}

size_t hostlink_rx_peek(const uint8_t **data)
{
    uint16_t w = rx_write_index();
    *data = rx_ring + rx.rd;
    return w >= rx.rd ? (size_t)(w - rx.rd) : (size_t)(RX_RING_SIZE - rx.rd);
}

void hostlink_rx_consume(size_t n)
{
    uint16_t before = rx.rd;
    rx.rd = (uint16_t)((rx.rd + n) % RX_RING_SIZE);
    /* half boundaries crossed: at RX_RING_SIZE / 2 and at the wrap */
    uint16_t half = RX_RING_SIZE / 2u;
    if (before < half && (rx.rd >= half || rx.rd < before))
        rx.halves_read++;
    if (rx.rd < before)
        rx.halves_read++;
    /* Each half and full transfer the DMA made is one boundary; more than
     * one ahead of the reader means it wrote over bytes not yet read. */
    uint32_t ahead = rx.halves - rx.halves_read;
    if (ahead > 1u && ahead < 0x80000000u) {
        rx.overruns += (ahead - 1u) * half;
        rx.halves_read = rx.halves - 1u;
    }
}

/* ---- transmit ---------------------------------------------------------- */

static uint16_t tx_free(void)
{
    uint16_t h = tx.head, t = tx.tail;
    uint32_t used = h >= t ? (uint32_t)h - t : TX_RING_SIZE - t + h;
    return (uint16_t)(TX_RING_SIZE - 1u - used);
}

/* Starts the DMA on the next contiguous run of the ring, if idle and any. */
static void tx_kick(void)
{
    if (tx.run != 0)
        return;
    uint16_t h = tx.head, t = tx.tail;
    if (h == t)
        return;
    uint16_t n = h > t ? (uint16_t)(h - t) : (uint16_t)(TX_RING_SIZE - t);
    dma_channel_t *c = &DMA1->CH[TX_CH - 1u];
    dma_stop(c);
    DMA1->IFCR = DMA_FLAGS_ALL << DMA_ISR_SHIFT(TX_CH);
    c->CMAR = (uint32_t)(uintptr_t)(tx_ring + t);
    c->CNDTR = n;
    tx.run = n;
    c->CCR = DMA_CCR_MINC | DMA_CCR_DIR | DMA_CCR_TCIE | DMA_CCR_EN;
}

void plat_tx_reserve(size_t n)
{
    /* the first frame at a new rate begins with a 0x00: whatever the host
     * received at the old rate before its own switch ends there */
    size_t lead = rate.lead_zero ? 1u : 0u;
    n += lead;
    /* every frame fits: the largest is MAX_REPLY_WIRE, far under the ring;
     * the transmitter frees it at the line rate (2 KiB: 180 ms at 115200),
     * and were it ever to stop, the watchdog resets the board */
    while (tx_free() < n) {
        /* sleep until the transmitter frees some room */
        cpu_irq_disable();
        if (tx_free() < n)
            cpu_wfi();
        cpu_irq_enable();
    }
    tx.wr = tx.head;
    if (lead) {
        plat_tx_put(0);
        rate.lead_zero = 0;
    }
}

void plat_tx_put(uint8_t b)
{
    tx_ring[tx.wr] = b;
    tx.wr = (uint16_t)(tx.wr + 1u == TX_RING_SIZE ? 0u : tx.wr + 1u);
}

void plat_tx_commit(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* bytes before head */
    cpu_irq_disable(); /* tx_kick races the completion interrupt */
    tx.head = tx.wr;
    tx_kick();
    cpu_irq_enable();
}

/* DMA1 channels 4-7 (and the DMAMUX overrun): the transmit run is done. */
void DMA1_Ch4_7_DMAMUX1_OVR_IRQHandler(void)
{
    uint32_t flags = (DMA1->ISR >> DMA_ISR_SHIFT(TX_CH)) & DMA_FLAGS_ALL;
    if (!flags)
        return;
    DMA1->IFCR = flags << DMA_ISR_SHIFT(TX_CH);
    if (flags & (DMA_FLAG_TCIF | DMA_FLAG_TEIF)) {
        dma_stop(&DMA1->CH[TX_CH - 1u]);
        uint16_t t = (uint16_t)(tx.tail + tx.run);
        tx.tail = (uint16_t)(t == TX_RING_SIZE ? 0u : t);
        tx.run = 0;
        tx_kick();
    }
}

/* Called from the shared channel 2-3 handler: the receive ring's half or end. */
void hostlink_rx_dma_irq(void)
{
    uint32_t flags = (DMA1->ISR >> DMA_ISR_SHIFT(RX_CH)) & DMA_FLAGS_ALL;
    if (!flags)
        return;
    DMA1->IFCR = flags << DMA_ISR_SHIFT(RX_CH);
    /* HT and TC can be reported together when the handler ran late */
    rx.halves += ((flags & DMA_FLAG_HTIF) ? 1u : 0u) + ((flags & DMA_FLAG_TCIF) ? 1u : 0u);
}

void USART2_IRQHandler(void)
{
    uint32_t isr = USART2->ISR;
    uint32_t errors = isr & (USART_ISR_PE | USART_ISR_FE | USART_ISR_NE | USART_ISR_ORE);
    if (errors) {
        /* with DDRE = 0 the DMA skips a character received with an error:
         * it is still in RDR, unless a good one came behind it (RXNE), which
         * the DMA must have, not this handler */
        uint8_t b = (isr & USART_ISR_RXNE) ? 0xFFu : (uint8_t)USART2->RDR;
        if (errors & USART_ISR_ORE)
            rx.overruns++;
        if (errors & (USART_ISR_PE | USART_ISR_FE | USART_ISR_NE))
            rx.errors++;
        /* a whole character of low line: a host speaking a slower rate */
        if ((errors & USART_ISR_FE) && b == 0 && rate.baud != LINK_BAUD)
            rate.fall_back = 1;
        USART2->ICR = errors;
    }
    /* the last bit of a SET_LINK_BAUD reply left: wake the loop to switch */
    if ((isr & USART_ISR_TC) && (USART2->CR1 & USART_CR1_TCIE))
        USART2->CR1 &= ~USART_CR1_TCIE;
    /* these only wake the main loop, which reads the ring */
    USART2->ICR = isr & (USART_ISR_IDLE | USART_ISR_CMF);
}

/* ---- rate ---------------------------------------------------------------- */

void SysTick_Handler(void)
{
    if (rate.unconfirmed && ++rate.wraps >= fallback_wraps)
        rate.fall_back = 1;
    led_tick();
}

static void arm_fallback(bool on)
{
    cpu_irq_disable();
    rate.wraps = 0;
    rate.unconfirmed = on ? 1u : 0u;
    cpu_irq_enable();
}

/* Wakes the main loop when the transmitter has sent everything (TC). The
 * handler disarms it at the first TC, which may be an earlier frame's (the
 * reply is queued after this), so hostlink_service arms it again until the
 * switch is made. */
static void wake_on_tc(void)
{
    cpu_irq_disable();
    USART2->CR1 |= USART_CR1_TCIE;
    cpu_irq_enable();
}

void plat_link_switch(uint32_t baud)
{
    rate.pending = baud;
    wake_on_tc();
}

void plat_link_frame_ok(void)
{
    if (rate.unconfirmed)
        arm_fallback(false);
    cpu_irq_disable();
    led_traffic();
    cpu_irq_enable();
}

void plat_link_frame_dropped(void)
{
    rx.frames_dropped++;
}

/* The rate changed: bytes that arrived at the old rate and are not read
 * yet are not the host's (it sends its first byte at the new rate only
 * after the reply, PROTOCOL.md 2): dropped, and counted as lost. */
static void rx_drop_unread(void)
{
    uint16_t w = rx_write_index();
    rx.overruns += (uint32_t)((w + RX_RING_SIZE - rx.rd) % RX_RING_SIZE);
    hostlink_rx_consume((size_t)((w + RX_RING_SIZE - rx.rd) % RX_RING_SIZE));
}

static bool tx_idle(void)
{
    return tx.head == tx.tail && tx.run == 0 && (USART2->ISR & USART_ISR_TC);
}

bool hostlink_service(void)
{
    if (rate.fall_back) {
        rate.fall_back = 0;
        rate.pending = 0;
        arm_fallback(false);
        if (rate.baud != LINK_BAUD) {
            usart_on(LINK_BAUD);
            rx_drop_unread();
            rate.lead_zero = 1;
            rate.fallbacks++;
            return true;
        }
        return false;
    }
    /* the reply to SET_LINK_BAUD must leave at the old rate first */
    if (rate.pending != 0) {
        if (tx_idle()) {
            usart_on(rate.pending);
            rx_drop_unread();
            rate.lead_zero = 1;
            rate.pending = 0;
            arm_fallback(rate.baud != LINK_BAUD);
            return true;
        }
        wake_on_tc();
    }
    return false;
}

void hostlink_info(struct plat_info *info)
{
    info->link_baud = rate.baud;
    info->boot_link_baud = LINK_BAUD;
    info->rx_buffer = RX_RING_SIZE - 1u;
    info->rate_count = rate_count;
    info->rates = rates;
}

uint32_t hostlink_fallbacks(void)
{
    return rate.fallbacks;
}

uint32_t hostlink_rx_overruns(void)
{
    return rx.overruns;
}

uint32_t hostlink_frames_dropped(void)
{
    return rx.frames_dropped;
}

uint32_t hostlink_rx_errors(void)
{
    return rx.errors;
}
