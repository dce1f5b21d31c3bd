/* The protocol core's entry points for the platform's main loop. */
#ifndef BRIDGE_H
#define BRIDGE_H

#include <stdint.h>

#include "events.h"

/* Reads plat_hello_info, resets framing, session and policy, and posts
 * the BOOT event (PROTOCOL.md 3: before anything else). */
void bridge_init(void);
/* One byte from the host link. */
void bridge_rx_byte(uint8_t b);

#endif
