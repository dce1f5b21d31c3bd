/* COBS and CRC (PROTOCOL.md 1). */
#include <string.h>

#include "../src/core/cobs.h"
#include "../src/core/crc16.h"
#include "runner.h"

static void fill(uint8_t *p, size_t n, unsigned seed, int zeros)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
        if (!zeros && p[i] == 0)
            p[i] = 1;
    }
}

static int round_trip(const uint8_t *in, size_t n)
{
    static uint8_t enc[3000], dec[3000];
    size_t k = cobs_encode(in, n, enc);
    if (k > n + n / 254 + 1)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (enc[i] == 0)
            return 0;
    long m = cobs_decode(enc, k, dec, sizeof dec);
    return m == (long)n && memcmp(in, dec, n) == 0;
}

TEST(cobs_known_vectors)
{
    uint8_t out[16];
    const uint8_t a[] = { 0x00 };
    CHECK_EQ(cobs_encode(a, 1, out), 2);
    CHECK(out[0] == 1 && out[1] == 1);
    const uint8_t b[] = { 0x00, 0x00 };
    CHECK_EQ(cobs_encode(b, 2, out), 3);
    CHECK(out[0] == 1 && out[1] == 1 && out[2] == 1);
    const uint8_t c[] = { 0x11, 0x22, 0x00, 0x33 };
    CHECK_EQ(cobs_encode(c, 4, out), 5);
    const uint8_t c_enc[] = { 0x03, 0x11, 0x22, 0x02, 0x33 };
    CHECK(memcmp(out, c_enc, 5) == 0);
    const uint8_t d[] = { 0x11, 0x22, 0x33, 0x44 };
    CHECK_EQ(cobs_encode(d, 4, out), 5);
    CHECK(out[0] == 5);
    const uint8_t e[] = { 0x11, 0x00, 0x00, 0x00 };
    CHECK_EQ(cobs_encode(e, 4, out), 5);
    const uint8_t e_enc[] = { 0x02, 0x11, 0x01, 0x01, 0x01 };
    CHECK(memcmp(out, e_enc, 5) == 0);
}

TEST(cobs_254_byte_runs)
{
    uint8_t in[600], out[700];
    for (int i = 0; i < 600; i++)
        in[i] = (uint8_t)(i % 255 + 1);
    size_t k = cobs_encode(in, 254, out);
    CHECK_EQ(k, 255);
    CHECK_EQ(out[0], 0xFF);
    k = cobs_encode(in, 255, out);
    CHECK_EQ(k, 257);
    CHECK_EQ(out[255], 0x02);
    CHECK(round_trip(in, 253));
    CHECK(round_trip(in, 254));
    CHECK(round_trip(in, 255));
    CHECK(round_trip(in, 508));
    CHECK(round_trip(in, 509));
    in[254] = 0;
    CHECK(round_trip(in, 255));
    CHECK(round_trip(in, 256));
}

TEST(cobs_round_trips)
{
    static uint8_t buf[1100];
    CHECK(round_trip(buf, 0));
    for (unsigned seed = 1; seed < 200; seed++) {
        size_t n = (seed * 37u) % 1031u;
        fill(buf, n, seed, (int)(seed & 1));
        CHECK(round_trip(buf, n));
    }
    memset(buf, 0, sizeof buf);
    CHECK(round_trip(buf, 1030));
    memset(buf, 0xFF, sizeof buf);
    CHECK(round_trip(buf, 1030));
}

TEST(cobs_decode_accepts_trailing_empty_block_after_ff)
{
    uint8_t enc[300], dec[300];
    enc[0] = 0xFF;
    memset(enc + 1, 7, 254);
    enc[255] = 0x01;
    CHECK_EQ(cobs_decode(enc, 256, dec, sizeof dec), 254);
}

TEST(cobs_malformed)
{
    uint8_t dec[16];
    const uint8_t truncated[] = { 0x05, 0x11, 0x22 };
    CHECK_EQ(cobs_decode(truncated, 3, dec, sizeof dec), (unsigned long long)-1);
    const uint8_t with_zero[] = { 0x03, 0x11, 0x00 };
    CHECK_EQ(cobs_decode(with_zero, 3, dec, sizeof dec), (unsigned long long)-1);
    const uint8_t too_long[] = { 0x05, 1, 2, 3, 4 };
    CHECK_EQ(cobs_decode(too_long, 5, dec, 3), (unsigned long long)-1);
    const uint8_t truncated_later[] = { 0x02, 0x11, 0x04, 0x22 };
    CHECK_EQ(cobs_decode(truncated_later, 4, dec, sizeof dec), (unsigned long long)-1);
}

TEST(crc_check_value)
{
    const uint8_t s[] = "123456789";
    CHECK_EQ(crc16_update(CRC16_INIT, s, 9), 0x29B1);
    /* incremental equals one shot */
    CHECK_EQ(crc16_update(crc16_update(CRC16_INIT, s, 4), s + 4, 5), 0x29B1);
    CHECK_EQ(crc16_update(CRC16_INIT, s, 0), 0xFFFF);
}
