/* Framing (PROTOCOL.md 1): the streaming deframer and the frame sender. */
#ifndef FRAME_H
#define FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void frame_init(void);

/* Feeds one received byte. A complete, valid frame goes to
 * session_on_request(); a corrupt one is answered with a NAK. */
void frame_rx_byte(uint8_t b);

/* Sends COBS(header | payload | crc) 0x00. wait: block until the transmit
 * queue has room (replies); otherwise give up and return false (events). */
bool frame_send(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, bool wait);

/* NAK (type 0xFF): payload is the status. */
void frame_send_nak(uint16_t seq_hint, uint8_t status);

#endif
