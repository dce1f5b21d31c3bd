/* LD4, the Nucleo's green user LED on PA5 (active high): lit from boot, so a
 * dark board is not running; it goes dark for a moment after each frame from
 * the host, so a blinking LED shows traffic and a steady one a quiet link. */
#ifndef LED_H
#define LED_H

#include <stdbool.h>

/* PA5 as a push-pull output, LED on. GPIOA's clock must be on. */
void led_init(void);
/* A valid frame arrived: dark until a tick or two later. */
void led_traffic(void);
/* From the SysTick handler (every 2^24 cycles, 262 ms at 64 MHz): lights
 * the LED again when its dark time is over. */
void led_tick(void);
/* Whether the LED needs SysTick's interrupt (it is dark). */
bool led_needs_tick(void);

#endif
