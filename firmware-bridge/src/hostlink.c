/*
 * USART2 on PA2 (TX) / PA3 (RX), AF1, 8N1, from the 64 MHz PCLK.
 *
 * Receive: every byte goes from RDR into rx_ring in the interrupt, so
 * bytes keep arriving while the main loop runs a command. 512 bytes hold
 * 44 ms of input at 115200 baud (22 ms at 230400).
 * Transmit: frames are encoded straight into tx_ring; the TXE interrupt
 * drains it. 576 bytes hold two of the largest replies (273 bytes each
 * with COBS and the delimiter) plus a few events.
 */
#include "hostlink.h"

#include "platform.h"
#include "clock.h"
#include "cm0.h"
#include "stm32g071.h"

#define RX_RING_SIZE 512u
#define TX_RING_SIZE 576u

static struct {
    uint8_t buf[RX_RING_SIZE];
    volatile uint16_t head; /* written by USART2_IRQHandler */
    volatile uint16_t tail; /* written by the main loop */
    volatile uint32_t dropped;
} rx;

static struct {
    uint8_t buf[TX_RING_SIZE];
    volatile uint16_t head; /* written by the main loop (on commit) */
    volatile uint16_t tail; /* written by USART2_IRQHandler */
    uint16_t wr;            /* write cursor inside the reservation */
} tx;

static uint16_t next(uint16_t i, uint16_t size)
{
    return (uint16_t)(i + 1u == size ? 0u : i + 1u);
}

void hostlink_init(void)
{
    /* PA2, PA3: alternate function 1; pull-up on RX so a floating line
     * reads idle */
    GPIOA->MODER = (GPIOA->MODER & ~((3u << 4) | (3u << 6))) | (GPIO_MODE_AF << 4) | (GPIO_MODE_AF << 6);
    GPIOA->AFR[0] = (GPIOA->AFR[0] & ~((0xFu << 8) | (0xFu << 12))) | (1u << 8) | (1u << 12);
    GPIOA->PUPDR = (GPIOA->PUPDR & ~(3u << 6)) | (GPIO_PULL_UP << 6);

    USART2->CR1 = 0;
    USART2->BRR = (PCLK_HZ + LINK_BAUD / 2u) / LINK_BAUD; /* OVER8 = 0 */
    USART2->CR1 = USART_CR1_RXNEIE | USART_CR1_TE | USART_CR1_RE | USART_CR1_UE;
}

bool hostlink_rx_available(void)
{
    return rx.head != rx.tail;
}

bool hostlink_rx_pop(uint8_t *b)
{
    uint16_t t = rx.tail;
    if (t == rx.head)
        return false;
    *b = rx.buf[t];
    rx.tail = next(t, RX_RING_SIZE);
    return true;
}

static uint16_t tx_free(void)
{
    uint16_t h = tx.head, t = tx.tail;
    uint32_t used = h >= t ? (uint32_t)h - t : TX_RING_SIZE - t + h;
    return (uint16_t)(TX_RING_SIZE - 1u - used);
}

void plat_tx_reserve(size_t n)
{
    /* every frame fits: the largest is MAX_REPLY_WIRE, well under the ring */
    while (tx_free() < n) {
        /* sleep until the transmitter frees some room */
        cpu_irq_disable();
        if (tx_free() < n)
            cpu_wfi();
        cpu_irq_enable();
    }
    tx.wr = tx.head;
}

void plat_tx_put(uint8_t b)
{
    tx.buf[tx.wr] = b;
    tx.wr = next(tx.wr, TX_RING_SIZE);
}

void plat_tx_commit(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* bytes before head */
    tx.head = tx.wr;
    cpu_irq_disable(); /* CR1 read-modify-write shared with the handler */
    USART2->CR1 |= USART_CR1_TXEIE;
    cpu_irq_enable();
}

void USART2_IRQHandler(void)
{
    uint32_t isr = USART2->ISR;
    uint32_t errors = isr & (USART_ISR_PE | USART_ISR_FE | USART_ISR_NE | USART_ISR_ORE);
    if (errors)
        USART2->ICR = errors; /* ORE would otherwise keep the interrupt pending */
    if (isr & USART_ISR_RXNE) {
        uint8_t b = (uint8_t)USART2->RDR;
        uint16_t h = rx.head, n = next(h, RX_RING_SIZE);
        if (n != rx.tail) {
            rx.buf[h] = b;
            rx.head = n;
        } else {
            rx.dropped++; /* the frame it belonged to fails its CRC */
        }
    }
    if ((isr & USART_ISR_TXE) && (USART2->CR1 & USART_CR1_TXEIE)) {
        uint16_t t = tx.tail;
        if (t != tx.head) {
            USART2->TDR = tx.buf[t];
            tx.tail = next(t, TX_RING_SIZE);
        } else {
            USART2->CR1 &= ~USART_CR1_TXEIE;
        }
    }
}
