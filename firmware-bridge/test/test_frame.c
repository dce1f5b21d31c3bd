/* The deframer and NAKs (PROTOCOL.md 1, 4). */
#include <string.h>

#include "../src/core/cobs.h"
#include "../src/core/crc16.h"
#include "helpers.h"
#include "runner.h"

static uint8_t wire[4200];

TEST(frame_ping_byte_by_byte)
{
    struct reply r;
    h_open(100);
    const uint8_t p[] = { 1, 2 };
    size_t n = h_frame(PROTO_VERSION, T_PING, 101, p, 2, wire);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(h_pending(), 0);
        h_feed(wire + i, 1);
    }
    CHECK(h_next(&r));
    CHECK_EQ(r.type, 0x82);
    CHECK_EQ(r.seq, 101);
    CHECK_EQ(r.len, 3);
    CHECK(r.p[0] == 0 && r.p[1] == 1 && r.p[2] == 2);
}

TEST(frame_example_of_section_9)
{
    /* body 01 02 07 00 01 02 + CRC, COBS, 0x00 */
    const uint8_t body[] = { 1, 2, 7, 0, 1, 2 };
    uint16_t crc = crc16_update(CRC16_INIT, body, 6);
    const uint8_t p[] = { 1, 2 };
    size_t n = h_frame(1, T_PING, 7, p, 2, wire);
    uint8_t dec[16];
    CHECK_EQ(cobs_decode(wire, n - 1, dec, sizeof dec), 8);
    CHECK(memcmp(dec, body, 6) == 0);
    CHECK_EQ(dec[6], crc & 0xFF);
    CHECK_EQ(dec[7], crc >> 8);
    CHECK_EQ(wire[n - 1], 0);
}

TEST(frame_chunked_and_back_to_back)
{
    struct reply r;
    h_open(1);
    size_t n = 0;
    for (int k = 0; k < 3; k++) {
        uint8_t p[3] = { (uint8_t)k, 0, (uint8_t)(k + 1) };
        n += h_frame(PROTO_VERSION, T_PING, (uint16_t)(2 + k), p, 3, wire + n);
    }
    /* odd-sized chunks across frame boundaries */
    for (size_t i = 0; i < n; i += 7)
        h_feed(wire + i, n - i < 7 ? n - i : 7);
    for (int k = 0; k < 3; k++) {
        CHECK(h_next(&r));
        CHECK_EQ(r.seq, 2 + k);
        CHECK_EQ(r.p[1], k);
    }
    CHECK_EQ(h_pending(), 0);
}

TEST(frame_empty_frames_ignored)
{
    struct reply r;
    h_open(1);
    const uint8_t zeros[] = { 0, 0, 0, 0 };
    h_feed(zeros, 4);
    CHECK_EQ(h_pending(), 0);
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    CHECK_EQ(r.type, 0x82);
}

TEST(frame_garbage_then_resync)
{
    struct reply r;
    h_open(1);
    const uint8_t junk[] = { 0x37, 0x99, 0x01, 0x42, 0x00 };
    h_feed(junk, sizeof junk);
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_NAK);
    CHECK(r.p[0] == ST_BAD_FRAME || r.p[0] == ST_BAD_CRC);
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    CHECK_EQ(r.type, 0x82);
    CHECK_EQ(r.seq, 2);
}

TEST(frame_nak_bad_crc_executes_nothing)
{
    struct reply r;
    h_open(1);
    uint8_t req[8];
    h_put32(h_put32(req, DMA1_CMAR_ADDR(1)), 0x20001000);
    uint8_t body[20] = { 1, T_REG_WRITE, 2, 0 };
    memcpy(body + 4, req, 8);
    uint16_t crc = crc16_update(CRC16_INIT, body, 12) ^ 0x0100;
    body[12] = (uint8_t)crc;
    body[13] = (uint8_t)(crc >> 8);
    size_t k = cobs_encode(body, 14, wire);
    wire[k] = 0;
    h_feed(wire, k + 1);
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_NAK);
    CHECK_EQ(r.seq, 2);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(r.p[0], ST_BAD_CRC);
    CHECK_EQ(fake_reg_writes, 0);
    /* expected did not move: seq 2 is still the next one */
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(frame_nak_bad_frame_short_body)
{
    struct reply r;
    h_open(1);
    const uint8_t body[5] = { 1, 2, 3, 4, 5 };
    size_t k = cobs_encode(body, 5, wire);
    wire[k] = 0;
    h_feed(wire, k + 1);
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_NAK);
    CHECK_EQ(r.p[0], ST_BAD_FRAME);
    CHECK_EQ(r.seq, 0x0403);
}

TEST(frame_nak_bad_frame_cobs_error)
{
    struct reply r;
    h_open(1);
    /* code 0x09 promises 8 bytes, the frame ends after 6 */
    const uint8_t bad[] = { 0x09, 1, 2, 3, 4, 5, 6, 0x00 };
    h_feed(bad, sizeof bad);
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_NAK);
    CHECK_EQ(r.p[0], ST_BAD_FRAME);
}

TEST(frame_nak_bad_version)
{
    struct reply r;
    h_open(1);
    size_t n = h_frame(PROTO_VERSION - 1u, T_PING, 2, 0, 0, wire);
    h_feed(wire, n);
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_NAK);
    CHECK_EQ(r.p[0], ST_BAD_VERSION);
    CHECK_EQ(r.seq, 2);
    /* nothing executed: seq 2 still expected */
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    CHECK_EQ(r.type, 0x82);
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(frame_largest_request_accepted)
{
    struct reply r;
    h_open(1);
    static uint8_t p[MAX_REQUEST_PAYLOAD];
    h_put32(p, FAKE_ARENA_BASE);
    for (size_t i = 4; i < sizeof p; i++)
        p[i] = (uint8_t)i;
    CHECK(h_req(T_MEM_WRITE, 2, p, sizeof p, &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK(memcmp(fake_arena, p + 4, MAX_MEM_WRITE) == 0);
}

TEST(frame_too_large_nak_then_resync)
{
    struct reply r;
    h_open(1);
    static uint8_t p[MAX_REQUEST_PAYLOAD + 1];
    memset(p, 0x55, sizeof p);
    h_send(T_PING, 2, p, sizeof p);
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_NAK);
    CHECK_EQ(r.p[0], ST_TOO_LARGE);
    CHECK_EQ(r.seq, 2);
    /* a long run without any delimiter, then a good frame */
    memset(wire, 0x11, 3000);
    h_feed(wire, 3000);
    CHECK_EQ(h_pending(), 0);
    const uint8_t z = 0;
    h_feed(&z, 1);
    CHECK(h_next(&r));
    CHECK_EQ(r.p[0], ST_TOO_LARGE);
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    CHECK_EQ(r.type, 0x82);
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(frame_too_large_decoded_within_encoded_limit)
{
    /* 1031 zero bytes encode to 1032 bytes: within the encoded limit but
     * the body is over 1030 */
    struct reply r;
    h_open(1);
    static uint8_t body[1031];
    memset(body, 0, sizeof body);
    body[0] = 1;
    body[1] = T_PING;
    size_t k = cobs_encode(body, sizeof body, wire);
    CHECK(k <= MAX_ENCODED);
    wire[k] = 0;
    h_feed(wire, k + 1);
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_NAK);
    CHECK_EQ(r.p[0], ST_TOO_LARGE);
}
