#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

/* Clocks to the peripherals, USART1 pins, NVIC, SysTick, host link. */
void board_init(void);
/* RCC_CSR's reset flags as board_init found them: why this boot happened. */
uint32_t board_reset_flags(void);

#endif
