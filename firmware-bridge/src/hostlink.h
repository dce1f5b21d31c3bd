/* The host link: USART2 (ST-LINK virtual COM port), interrupt driven
 * receive and transmit rings. Implements plat_tx_* of platform.h. */
#ifndef HOSTLINK_H
#define HOSTLINK_H

#include <stdbool.h>
#include <stdint.h>

#ifndef LINK_BAUD
#define LINK_BAUD 115200u
#endif

void hostlink_init(void);
/* Next received byte; false when the ring is empty. */
bool hostlink_rx_pop(uint8_t *b);
bool hostlink_rx_available(void);

#endif
