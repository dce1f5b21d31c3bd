/* The host link: USART2 (the ST-LINK virtual COM port), received and sent
 * by DMA through rings, at a rate the host may change (SET_LINK_BAUD).
 * Implements plat_tx_* and plat_link_* of platform.h. */
#ifndef HOSTLINK_H
#define HOSTLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"

#ifndef LINK_BAUD
#define LINK_BAUD 115200u
#endif

void hostlink_init(void);
/* Received bytes not yet read, as one contiguous run of the ring: the
 * count, with *data pointing at them (0 when none). */
size_t hostlink_rx_peek(const uint8_t **data);
/* The first n bytes of the last peek are handled. */
void hostlink_rx_consume(size_t n);
bool hostlink_rx_available(void);
/* Main loop: changes the rate when a switch is due (the transmitter has
 * sent everything) or a fallback was asked for. Returns true when it did:
 * the bytes not read yet are dropped, and the caller drops the frame in
 * progress (bridge_rx_restart). */
bool hostlink_service(void);
/* Request frames dropped (plat_link_frame_dropped). */
uint32_t hostlink_frames_dropped(void);
/* Receive DMA's half and full transfer flags (DMA1 channel 3, whose
 * interrupt it shares with channel 2). */
void hostlink_rx_dma_irq(void);
/* The link's part of HELLO: rates, receive buffer. */
void hostlink_info(struct plat_info *info);
/* Bytes lost to a full receive ring or an overrun. */
uint32_t hostlink_rx_overruns(void);
/* Host-link characters received with framing, noise or parity errors. */
uint32_t hostlink_rx_errors(void);
/* Times the link went back to its boot rate. */
uint32_t hostlink_fallbacks(void);

#endif
