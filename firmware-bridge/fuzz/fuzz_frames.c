/*
 * libFuzzer target: arbitrary input through the deframer, sessions,
 * dispatch and policy, on the fake platform. The fake aborts on any
 * access outside the bridge's registers or the arena, any unsafe DMA
 * start, any CCR.EN write without a DSB just before it, any CCR write
 * to a running channel, any host write into memory a running DMA still
 * uses (the fake moves the DMA: kind 4), and any refused value reaching a
 * register; this target also checks that everything the
 * board sent is a well-formed frame within the reply size limit, and that
 * every event has its type's layout (a USART event naming the channels'
 * starts as they were when it was posted).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/bridge.h"
#include "../src/core/cobs.h"
#include "../src/core/crc16.h"
#include "../src/core/events.h"
#include "../src/core/protocol.h"
#include "../test/fake_platform.h"
#include "fuzz_input.h"

static void feed_frame(uint8_t type, uint16_t seq, const uint8_t *p, size_t n)
{
    static uint8_t body[70000], wire[71000];
    if (n > 65535)
        n = 65535;
    body[0] = PROTO_VERSION;
    body[1] = type;
    body[2] = (uint8_t)seq;
    body[3] = (uint8_t)(seq >> 8);
    if (n)
        memcpy(body + 4, p, n);
    uint16_t crc = crc16_update(CRC16_INIT, body, n + 4);
    body[n + 4] = (uint8_t)crc;
    body[n + 5] = (uint8_t)(crc >> 8);
    size_t k = cobs_encode(body, n + 6, wire);
    wire[k++] = 0;
    for (size_t i = 0; i < k; i++)
        bridge_rx_byte(wire[i]);
}

/* PROTOCOL.md 3: an event's payload is exactly its type's fields. USART
 * events are posted only by post_events, which sends them before anything
 * else runs, so the starts they name are the channels' starts now. */
static void check_event(const uint8_t *body, size_t n)
{
    size_t want;
    switch (body[1]) {
    case T_EV_BOOT:
        want = 7;
        break;
    case T_EV_DMA:
        want = 12;
        break;
    case T_EV_USART:
        want = 13;
        break;
    default:
        return;
    }
    if (n != FRAME_OVERHEAD + want) {
        fprintf(stderr, "event 0x%02x with %zu payload bytes, expected %zu\n", body[1], n - FRAME_OVERHEAD, want);
        abort();
    }
    if (body[1] == T_EV_USART) {
        uint16_t s1 = (uint16_t)(body[13] | (body[14] << 8)), s2 = (uint16_t)(body[15] | (body[16] << 8));
        if (s1 != ev_starts(1) || s2 != ev_starts(2)) {
            fprintf(stderr, "USART event names starts %u/%u, the channels are at %u/%u\n", s1, s2, ev_starts(1),
                    ev_starts(2));
            abort();
        }
    }
}

static void check_output(void)
{
    size_t start = 0;
    static uint8_t body[2048];
    for (size_t i = 0; i < fake_tx_len; i++) {
        if (fake_tx[i] != 0)
            continue;
        long n = cobs_decode(fake_tx + start, i - start, body, sizeof body);
        if (n < 6 || (size_t)n > MAX_REPLY_BODY) {
            fprintf(stderr, "board sent a malformed or oversized frame (%ld bytes)\n", n);
            abort();
        }
        uint16_t crc = (uint16_t)(body[n - 2] | (body[n - 1] << 8));
        if (crc16_update(CRC16_INIT, body, (size_t)n - 2) != crc || body[0] != PROTO_VERSION) {
            fprintf(stderr, "board sent a frame with a bad CRC or version\n");
            abort();
        }
        check_event(body, (size_t)n);
        start = i + 1;
    }
    if (start != fake_tx_len) {
        fprintf(stderr, "board left an unterminated frame\n");
        abort();
    }
    fake_tx_len = 0;
}

static void post_events(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        const uint8_t *e = p + i;
        fake_tx_room = (e[0] & 0x80) ? 0 : FAKE_TX_MAX; /* a full queue: events wait */
        uint32_t v = (uint32_t)e[4] | ((uint32_t)e[5] << 8) | ((uint32_t)e[6] << 16) | ((uint32_t)e[7] << 24);
        if (e[0] & 1)
            ev_post_dma((uint8_t)(1 + (e[1] & 1)), e[2] & 0x0E, (uint16_t)(e[3] | (e[1] << 8)), v);
        else
            ev_post_usart(e[2] & 0x5F, v, e[3], e[1]);
    }
    bridge_flush_events();
    fake_tx_room = FAKE_TX_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fake_abort_on_violation = true;
    fake_reset();
    fake_micros_step = 97; /* POLLs time out in a few hundred reads */
    bridge_init();
    bridge_flush_events();
    if (size == 0)
        return 0;
    uint16_t next = 1;
    if (data[0] & FZ_FLAG_OPEN)
        feed_frame(T_HELLO, 0, 0, 0);
    size_t i = 1;
    while (i + 3 <= size) {
        uint8_t kind = data[i] & 7u;
        size_t len = (size_t)data[i + 1] | ((size_t)data[i + 2] << 8);
        i += 3;
        if (len > size - i)
            len = size - i;
        const uint8_t *p = data + i;
        i += len;
        switch (kind) {
        case FZ_RAW:
            for (size_t k = 0; k < len; k++)
                bridge_rx_byte(p[k]);
            break;
        case FZ_FRAME:
            if (len >= 3)
                feed_frame(p[0], (uint16_t)(p[1] | (p[2] << 8)), p + 3, len - 3);
            break;
        case FZ_NEXT:
            if (len >= 1)
                feed_frame(p[0], next++, p + 1, len - 1);
            break;
        case FZ_EVENTS:
            post_events(p, len);
            break;
        default: /* FZ_DMA and the kinds not yet defined */
            for (size_t k = 0; k + 2 <= len; k += 2)
                fake_dma_step(1u + (p[k] & 1u), p[k + 1], (p[k] & 2u) != 0);
            break;
        }
        check_output();
    }
    check_output();
    return 0;
}
