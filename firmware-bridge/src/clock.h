#ifndef CLOCK_H
#define CLOCK_H

#define SYSCLK_HZ 64000000u /* HSI16 through the PLL; AHB and APB undivided */
#define PCLK_HZ   SYSCLK_HZ

void clock_init_64mhz(void);

#endif
