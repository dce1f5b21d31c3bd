#include "led.h"

#include <stdint.h>

#include "stm32g071.h"

#define LED_PIN 5u
/* Ticks of darkness: two, so the LED is off 262 to 524 ms after traffic,
 * whatever the SysTick counter held when the frame came. */
#define DARK_TICKS 2u

static volatile uint8_t dark;

void led_init(void)
{
    GPIOA->BSRR = 1u << LED_PIN;
    GPIOA->MODER = (GPIOA->MODER & ~(3u << (2u * LED_PIN))) | (GPIO_MODE_OUTPUT << (2u * LED_PIN));
    dark = 0;
}

void led_traffic(void)
{
    if (dark == 0) {
        GPIOA->BRR = 1u << LED_PIN; /* BRR: atomic, no read-modify-write of ODR */
        dark = DARK_TICKS;
    }
}

void led_tick(void)
{
    if (dark != 0 && --dark == 0)
        GPIOA->BSRR = 1u << LED_PIN;
}

bool led_needs_tick(void)
{
    return dark != 0;
}
