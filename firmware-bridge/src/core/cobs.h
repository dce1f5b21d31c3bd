/* Consistent Overhead Byte Stuffing (Cheshire and Baker 1999), PROTOCOL.md 1. */
#ifndef COBS_H
#define COBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Streaming decoder: one encoded byte at a time (never 0x00, the
 * delimiter is handled by the caller). */
typedef struct {
    uint8_t remaining;    /* data bytes left in the current block */
    bool zero_pending;    /* the block ended below 0xFF: a 0x00 follows it
                             unless the frame ends there */
} cobs_dec_t;

void cobs_dec_reset(cobs_dec_t *d);
/* Feeds one non-zero encoded byte. Returns the number of decoded bytes
 * produced (0, 1 or 2) into out[0..1]. */
size_t cobs_dec_push(cobs_dec_t *d, uint8_t in, uint8_t out[2]);
/* True when the encoded input ended on a block boundary (valid COBS). */
bool cobs_dec_complete(const cobs_dec_t *d);

/* Encoder over up to three segments seen as one body, emitting through
 * put (no delimiter). Returns the encoded length. */
typedef void (*cobs_put_fn)(void *ctx, uint8_t b);
typedef struct {
    const uint8_t *p[3];
    size_t n[3];
} cobs_segs_t;
size_t cobs_encode_segs(const cobs_segs_t *s, cobs_put_fn put, void *ctx);

/* Buffer helpers. cobs_encode writes at most COBS_MAX_ENCODED(n) bytes.
 * cobs_decode returns the decoded length, or -1 when the input is not
 * valid COBS (contains 0x00, a block runs past the end) or out is full. */
size_t cobs_encode(const uint8_t *in, size_t n, uint8_t *out);
long cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

#endif
