/* Nucleo-G071RB wiring of the bridge (stm32g071.md, "Nucleo-G071RB"). */
#include "board.h"

#include "hostlink.h"
#include "led.h"
#include "stm32g071.h"

static void nvic_set_priority(unsigned irq, unsigned prio)
{
    /* 2 priority bits, in the top of each byte */
    uint32_t shift = 8u * (irq % 4u);
    NVIC->IPR[irq / 4u] = (NVIC->IPR[irq / 4u] & ~(0xFFu << shift)) | ((prio << 6) << shift);
}

static uint32_t reset_flags;

uint32_t board_reset_flags(void)
{
    return reset_flags;
}

void board_init(void)
{
    /* why this boot happened; cleared so the next reset's flags are its own */
    reset_flags = RCC->CSR & RCC_CSR_RESET_FLAGS;
    RCC->CSR |= RCC_CSR_RMVF;

    RCC->IOPENR |= RCC_IOPENR_GPIOAEN | RCC_IOPENR_GPIOCEN;
    RCC->AHBENR |= RCC_AHBENR_DMA1EN; /* DMA1 and DMAMUX1 */
    RCC->APBENR1 |= RCC_APBENR1_USART2EN | RCC_APBENR1_DBGEN;
    RCC->APBENR2 |= RCC_APBENR2_USART1EN | RCC_APBENR2_SYSCFGEN;
    (void)RCC->APBENR2; /* the enables take effect before the first access */

    /* USART1 on the Arduino header: PC4 TX (D1), PC5 RX (D0), AF1 */
    GPIOC->MODER = (GPIOC->MODER & ~((3u << 8) | (3u << 10))) | (GPIO_MODE_AF << 8) | (GPIO_MODE_AF << 10);
    GPIOC->AFR[0] = (GPIOC->AFR[0] & ~((0xFu << 16) | (0xFu << 20))) | (1u << 16) | (1u << 20);
    GPIOC->PUPDR = (GPIOC->PUPDR & ~(3u << 10)) | (GPIO_PULL_UP << 10);

    led_init();

    /* SysTick free-running for plat_micros(); its interrupt only times the
     * host link's rate fallback and the LED's blink, when they need it */
    SYSTICK->RVR = SYSTICK_MAX;
    SYSTICK->CVR = 0;
    SYSTICK->CSR = SYSTICK_CSR_CLKSOURCE | SYSTICK_CSR_ENABLE;

    hostlink_init();

    /* the host link's USART outranks everything (a fallback must be seen),
     * its transmit DMA comes next, then the event sources, which share a
     * level so event posting has one producer at a time; the host link's
     * receive DMA shares channel 2's interrupt (and level) */
    nvic_set_priority(IRQN_USART2, 0);
    nvic_set_priority(IRQN_DMA1_CH4_7, 1);
    nvic_set_priority(IRQN_DMA1_CHANNEL1, 2);
    nvic_set_priority(IRQN_DMA1_CHANNEL2_3, 2);
    nvic_set_priority(IRQN_USART1, 2);
    NVIC->ISER = (1u << IRQN_DMA1_CHANNEL1) | (1u << IRQN_DMA1_CHANNEL2_3) | (1u << IRQN_DMA1_CH4_7) |
                 (1u << IRQN_USART1) | (1u << IRQN_USART2);
}
