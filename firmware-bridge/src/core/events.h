/* Events (PROTOCOL.md 3). Interrupt handlers post them (they only
 * snapshot registers); the main loop encodes them into the transmit
 * queue, dropping one when the queue lacks room, never a reply. */
#ifndef EVENTS_H
#define EVENTS_H

#include <stdbool.h>
#include <stdint.h>

void ev_init(void);
/* Posting: from one interrupt priority level only (single producer). */
void ev_post_boot(uint32_t boot_epoch);
void ev_post_dma(uint8_t channel, uint8_t flags, uint16_t cndtr, uint32_t ccr);
void ev_post_usart(uint8_t flags, uint32_t isr, uint16_t cndtr1, uint16_t cndtr2);
/* Main loop, just before a write that sets CCR.EN of `channel` (1 or 2):
 * its completion count starts over. */
void ev_dma_enabling(uint8_t channel);
/* Main loop (single consumer). */
bool ev_pending(void);
void ev_flush(void);

#endif
