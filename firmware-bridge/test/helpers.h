/* Test helpers: build request frames, feed them to the core, read the
 * frames it sent back from the fake transmit buffer. */
#ifndef HELPERS_H
#define HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "../src/core/protocol.h"
#include "../src/stm32g071.h"
#include "fake_platform.h"

struct reply {
    uint8_t type;
    uint16_t seq;
    uint16_t mark; /* replies and NAKs: the event mark (PROTOCOL.md 3) */
    size_t len;
    uint8_t p[2048];
};

/* Fake reset, core init; the BOOT event is flushed and discarded. */
void h_reset(void);
/* Fake reset, core init, HELLO with seq; afterwards next seq is seq + 1. */
void h_open(uint16_t seq);

/* Wire bytes (COBS body, then 0x00) of a frame; returns the length. */
size_t h_frame(uint8_t version, uint8_t type, uint16_t seq, const uint8_t *payload, size_t n,
               uint8_t *out);
void h_feed(const uint8_t *bytes, size_t n);
void h_send(uint8_t type, uint16_t seq, const uint8_t *payload, size_t n);

/* Reads the board's frames from the start of the fake transmit buffer. */
void h_rewind(void);
/* Next frame from the board (0 when there is none or it is malformed). */
int h_next(struct reply *r);
/* Frames waiting from the board. */
int h_pending(void);
/* Sends a request and reads one reply; returns 0 when no reply came. */
int h_req(uint8_t type, uint16_t seq, const uint8_t *payload, size_t n, struct reply *r);

uint32_t h_get32(const uint8_t *p);
uint16_t h_get16(const uint8_t *p);
uint8_t *h_put32(uint8_t *p, uint32_t v);
uint8_t *h_put16(uint8_t *p, uint16_t v);

/* Single-register helpers through the protocol (seq auto-incremented
 * from h_seq). */
extern uint16_t h_seq;
uint8_t h_reg_write(uint32_t addr, uint32_t value, struct reply *r);
uint8_t h_reg_read(uint32_t addr, uint32_t *value, struct reply *r);

/* Sets up channel ch registers for a valid start (in the fake). */
void h_setup_channel(unsigned ch, int to_periph, uint32_t cmar, uint32_t cndtr);

#endif
