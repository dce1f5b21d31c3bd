/*
 * Interrupt handlers of what the bridge exposes (PROTOCOL.md 3). They are
 * thin: read and clear the flags they report, snapshot the registers the
 * event carries, and post the event; the main loop sends it.
 */
#include "cm0.h"
#include "core/events.h"
#include "hostlink.h"
#include "stm32g071.h"

#define DMA_REPORTED (DMA_FLAG_TCIF | DMA_FLAG_HTIF | DMA_FLAG_TEIF)

static void dma_channel_irq(unsigned ch)
{
    dma_channel_t *c = &DMA1->CH[ch - 1u];
    uint32_t shift = DMA_ISR_SHIFT(ch);
    /* TCIE, HTIE, TEIE sit at the same bit positions as TCIF, HTIF, TEIF */
    uint32_t flags = (DMA1->ISR >> shift) & c->CCR & DMA_REPORTED;
    if (!flags)
        return;
    DMA1->IFCR = flags << shift;
    cpu_dmb(); /* PROTOCOL.md 7: completion observed before anything after */
    uint16_t cndtr = (uint16_t)c->CNDTR;
    uint32_t ccr = c->CCR; /* after the flags: on TE, EN is already clear */
    ev_post_dma((uint8_t)ch, (uint8_t)flags, cndtr, ccr);
}

void DMA1_Channel1_IRQHandler(void)
{
    dma_channel_irq(1);
}

/* Shared with channel 3, the host link's receive DMA. */
void DMA1_Channel2_3_IRQHandler(void)
{
    dma_channel_irq(2);
    hostlink_rx_dma_irq();
}

void USART1_IRQHandler(void)
{
    uint32_t isr = USART1->ISR;
    uint32_t cr1 = USART1->CR1, cr3 = USART1->CR3;
    uint32_t enabled = 0;
    if (cr1 & USART_CR1_PEIE)
        enabled |= USART_ISR_PE;
    if (cr3 & USART_CR3_EIE) {
        enabled |= USART_ISR_FE | USART_ISR_NE | USART_ISR_ORE;
        if (isr & USART_ISR_UDR)
            USART1->ICR = USART_ICR_UDRCF; /* SPI-slave underrun, also under EIE */
    }
    if (cr1 & USART_CR1_IDLEIE)
        enabled |= USART_ISR_IDLE;
    if (cr1 & USART_CR1_TCIE)
        enabled |= USART_ISR_TC;
    uint32_t flags = isr & enabled;
    if (!flags)
        return;
    USART1->ICR = flags; /* ICR clear bits match the ISR positions */
    cpu_dmb();
    ev_post_usart((uint8_t)flags, isr, (uint16_t)DMA1->CH[0].CNDTR, (uint16_t)DMA1->CH[1].CNDTR);
}
