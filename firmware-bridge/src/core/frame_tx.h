/* Framing, sending side (PROTOCOL.md 1): COBS(body) 0x00 into the
 * platform's transmit queue. Every call waits for room: nothing the board
 * sends is dropped here. */
#ifndef FRAME_TX_H
#define FRAME_TX_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"

/* A reply (type has bit 7 set) or NAK: header | mark u16 | payload | crc. */
void frame_send_reply(uint8_t type, uint16_t seq, uint16_t mark, const uint8_t *payload, size_t len);
/* The event mark as of now (interrupts masked while it is read). */
uint16_t frame_mark_now(void);
/* NAK (type 0xFF) with the current event mark; payload is the status. */
void frame_send_nak(uint16_t seq_hint, uint8_t status);
/* An event: header (seq = its counter) | payload | crc. */
void frame_send_event(const struct event *e);

#endif
