/* Events (PROTOCOL.md 3): a queue between the interrupt handlers, which
 * post events, and the main loop, which sends them (bridge.c). An event
 * is dropped only when the queue itself is full; its counter is used all
 * the same, so the host sees the gap (and every reply's event mark tells
 * the host which counters were sent before it). This module sends
 * nothing itself. */
#ifndef EVENTS_H
#define EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#define EV_MAX_PAYLOAD 13u

struct event {
    uint8_t type;
    uint8_t len;
    uint16_t counter;
    uint8_t payload[EV_MAX_PAYLOAD];
};

/* `boot_epoch` (PROTOCOL.md 8) draws the channels' first start numbers. */
void ev_init(uint32_t boot_epoch);
/* Posting: from one interrupt priority level only (single producer). */
void ev_post_boot(uint32_t boot_epoch);
void ev_post_dma(uint8_t channel, uint8_t flags, uint16_t cndtr, uint32_t ccr);
/* The event also names the start of each exposed channel at this instant
 * (PROTOCOL.md 3), so the host can tell which transfer a flag belongs to. */
void ev_post_usart(uint8_t flags, uint32_t isr, uint16_t cndtr1, uint16_t cndtr2);
/* Main loop, just before a write that changes CCR.EN of `channel` (1 or
 * 2) from 0 to 1: its completion count starts over and its start count
 * goes up by one. */
void ev_dma_enabling(uint8_t channel);
/* A channel's counts, saved before ev_dma_enabling and put back when the
 * write that was to enable it did not (interrupts masked throughout). */
struct ev_channel_counts {
    uint16_t completions;
    uint16_t starts;
};
struct ev_channel_counts ev_channel_counts(uint8_t channel);
void ev_channel_counts_restore(uint8_t channel, struct ev_channel_counts counts);
/* HT and TC completions `channel` (1 or 2) has reported since it was last
 * enabled, dropped events included. */
uint16_t ev_completions(uint8_t channel);
/* Starts of `channel` (1 or 2) since boot, mod 2^16, counted from a base
 * drawn from the boot epoch: the number of the transfer its events belong
 * to (PROTOCOL.md 3). */
uint16_t ev_starts(uint8_t channel);

/* Main loop (single consumer). */
bool ev_pending(void);
/* The oldest queued event, or 0 when none; it stays queued until ev_pop(). */
const struct event *ev_peek(void);
void ev_pop(void);
/* The event mark (PROTOCOL.md 3): the counter of the oldest event not yet
 * sent, or of the next event to be posted when none is queued. Call with
 * interrupts masked (platform.h plat_irq_lock) for a consistent value. */
uint16_t ev_mark(void);
/* Events dropped because the queue was full, since boot. */
uint32_t ev_dropped(void);

#endif
