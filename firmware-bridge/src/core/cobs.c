#include "cobs.h"

void cobs_dec_reset(cobs_dec_t *d)
{
    d->remaining = 0;
    d->zero_pending = false;
}

size_t cobs_dec_push(cobs_dec_t *d, uint8_t in, uint8_t out[2])
{
    size_t n = 0;
    if (d->remaining == 0) {
        /* a code byte: the previous block's implied zero is real now */
        if (d->zero_pending)
            out[n++] = 0;
        d->remaining = (uint8_t)(in - 1u);
        d->zero_pending = in != 0xFFu;
        return n;
    }
    out[n++] = in;
    d->remaining--;
    return n;
}

bool cobs_dec_complete(const cobs_dec_t *d)
{
    return d->remaining == 0;
}

static uint8_t seg_at(const cobs_segs_t *s, size_t i)
{
    for (int k = 0; k < 3; k++) {
        if (i < s->n[k])
            return s->p[k][i];
        i -= s->n[k];
    }
    return 0;
}

size_t cobs_encode_segs(const cobs_segs_t *s, cobs_put_fn put, void *ctx)
{
    size_t n = s->n[0] + s->n[1] + s->n[2];
    size_t i = 0, out = 0;
    for (;;) {
        size_t j = i;
        while (j < n && j - i < 254u && seg_at(s, j) != 0)
            j++;
        put(ctx, (uint8_t)(j - i + 1u));
        out++;
        for (size_t k = i; k < j; k++)
            put(ctx, seg_at(s, k));
        out += j - i;
        if (j >= n)
            break;
        /* a full block (code 0xFF) implies no zero: the next block starts
         * at j; otherwise the block ended on a zero, which the code implies */
        i = j - i == 254u ? j : j + 1u;
    }
    return out;
}

static void put_buf(void *ctx, uint8_t b)
{
    uint8_t **p = ctx;
    *(*p)++ = b;
}

size_t cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    cobs_segs_t s = { { in, 0, 0 }, { n, 0, 0 } };
    uint8_t *p = out;
    return cobs_encode_segs(&s, put_buf, &p);
}

long cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    cobs_dec_t d;
    size_t len = 0;
    cobs_dec_reset(&d);
    for (size_t i = 0; i < n; i++) {
        uint8_t tmp[2] = { 0, 0 };
        if (in[i] == 0)
            return -1;
        size_t k = cobs_dec_push(&d, in[i], tmp);
        if (len + k > cap)
            return -1;
        for (size_t m = 0; m < k; m++)
            out[len++] = tmp[m];
    }
    return cobs_dec_complete(&d) ? (long)len : -1;
}
