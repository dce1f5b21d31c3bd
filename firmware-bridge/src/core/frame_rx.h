/* Framing, receiving side (PROTOCOL.md 1): the streaming deframer. */
#ifndef FRAME_RX_H
#define FRAME_RX_H

#include <stddef.h>
#include <stdint.h>

void frame_rx_init(void);

/* Feeds one received byte. A complete, valid request goes to
 * session_on_request(); anything else is answered with a NAK. */
void frame_rx_byte(uint8_t b);
/* A run of received bytes, as the receive DMA left them in its ring. */
void frame_rx_bytes(const uint8_t *p, size_t n);
/* Drops the frame in progress, if any (counted, plat_link_frame_dropped):
 * the link changed rate under it, so its bytes are not the host's. */
void frame_rx_discard(void);

#endif
