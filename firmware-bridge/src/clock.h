#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

#define SYSCLK_HZ 64000000u /* HSI16 through the PLL; AHB and APB undivided */
#define HSI16_HZ  16000000u

/* Raises SYSCLK to 64 MHz. Every wait is bounded: a PLL that does not lock
 * (or a flash interface that does not take its wait states) leaves the
 * chip on HSI16 at 16 MHz, slower but talking. Returns the clock reached. */
uint32_t clock_init(void);
/* HCLK = PCLK (APB undivided), the USARTs' kernel clock: what clock_init reached. */
uint32_t clock_pclk_hz(void);

#endif
