#ifndef BOARD_H
#define BOARD_H

/* Clocks to the peripherals, USART1 pins, NVIC, SysTick, host link. */
void board_init(void);

#endif
