/* The protocol core's entry points for the platform's main loop. The core
 * is a one-way stack: frame_rx -> session -> dispatch -> policy, replies
 * and NAKs through frame_tx; events are posted by the interrupt handlers
 * (and their counts reset by policy) and sent from here. */
#ifndef BRIDGE_H
#define BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"

/* Reads plat_hello_info, resets framing, session and policy, and posts
 * the BOOT event (PROTOCOL.md 3: before anything else). */
void bridge_init(void);
/* One byte from the host link. */
void bridge_rx_byte(uint8_t b);
/* A run of bytes from the host link. */
void bridge_rx_bytes(const uint8_t *p, size_t n);
/* The host link changed rate: the frame being received, begun at the old
 * rate, is dropped (PROTOCOL.md 2, SET_LINK_BAUD). */
void bridge_rx_restart(void);
/* Sends every queued event, waiting for transmit room as long as needed:
 * an event is never dropped once it is queued. */
void bridge_flush_events(void);

#endif
