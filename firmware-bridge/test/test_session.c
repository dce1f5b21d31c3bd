/* Sessions, sequence numbers, the reply cache (PROTOCOL.md 4). */
#include <string.h>

#include "helpers.h"
#include "runner.h"

TEST(session_no_session_after_reset)
{
    struct reply r;
    h_reset();
    uint8_t req[8];
    h_put32(h_put32(req, DMA1_CMAR_ADDR(1)), 0x20001000);
    CHECK(h_req(T_REG_WRITE, 5, req, 8, &r));
    CHECK_EQ(r.type, 0x84);
    CHECK_EQ(r.seq, 5);
    CHECK_EQ(r.len, 5);
    CHECK_EQ(r.p[0], ST_NO_SESSION);
    CHECK_EQ(h_get32(r.p + 1), FAKE_BOOT_EPOCH);
    CHECK_EQ(fake_reg_writes, 0);
    /* also for a batch and for an unknown type: plain layout */
    CHECK(h_req(T_REG_BATCH, 6, 0, 0, &r));
    CHECK_EQ(r.len, 5);
    CHECK_EQ(r.p[0], ST_NO_SESSION);
    CHECK(h_req(0x33, 7, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_NO_SESSION);
}

TEST(session_hello_reply_fields)
{
    struct reply r;
    h_reset();
    CHECK(h_req(T_HELLO, 0x1234, 0, 0, &r));
    CHECK_EQ(r.type, 0x81);
    CHECK_EQ(r.seq, 0x1234);
    CHECK_EQ(r.len, 50 + 7 + 4 * 6);
    const uint8_t *b = r.p + 1;
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(b[0], PROTO_VERSION);
    CHECK(b[1] == FW_VERSION_MAJOR && b[2] == FW_VERSION_MINOR && b[3] == FW_VERSION_PATCH);
    CHECK_EQ(h_get16(b + 4), 0x460);
    CHECK_EQ(h_get16(b + 6), 0x2000);
    CHECK(b[8] == 0xA0 && b[19] == 0xAB);
    CHECK_EQ(h_get32(b + 20), FAKE_ARENA_BASE);
    CHECK_EQ(h_get32(b + 24), FAKE_ARENA_SIZE);
    CHECK_EQ(h_get16(b + 28), 1024);
    CHECK_EQ(h_get16(b + 30), 264);
    CHECK_EQ(b[32], 4);
    CHECK_EQ(h_get32(b + 33), 0x3F);
    CHECK_EQ(h_get32(b + 37), FAKE_BOOT_EPOCH);
    CHECK_EQ(h_get32(b + 41), 64000000);
    CHECK_EQ(h_get32(b + 45), 115200);
    CHECK_EQ(h_get16(b + 49), 2047);   /* rxBuffer */
    CHECK_EQ(h_get32(b + 51), 115200); /* bootLinkBaud */
    CHECK_EQ(b[55], 6);
    CHECK_EQ(h_get32(b + 56), 115200);
    CHECK_EQ(h_get32(b + 56 + 4 * 5), 2000000);
    /* next expected is 0x1235 */
    CHECK(h_req(T_PING, 0x1235, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(session_hello_with_payload_bad_length)
{
    struct reply r;
    h_reset();
    const uint8_t x = 1;
    CHECK(h_req(T_HELLO, 3, &x, 1, &r));
    CHECK_EQ(r.type, 0x81);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK(h_req(T_PING, 4, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_NO_SESSION);
}

TEST(session_seq_gap)
{
    struct reply r;
    h_open(10);
    CHECK(h_req(T_PING, 13, 0, 0, &r));
    CHECK_EQ(r.type, 0x82);
    CHECK_EQ(r.seq, 13);
    CHECK_EQ(r.len, 3);
    CHECK_EQ(r.p[0], ST_SEQ_GAP);
    CHECK_EQ(h_get16(r.p + 1), 11);
    /* d = 32767 is still a gap */
    CHECK(h_req(T_PING, (uint16_t)(11 + 32767), 0, 0, &r));
    CHECK_EQ(r.p[0], ST_SEQ_GAP);
    /* nothing moved */
    CHECK(h_req(T_PING, 11, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(session_cached_reply_without_reexecution)
{
    struct reply r, again;
    h_open(0xFFFE); /* the window wraps through 0xFFFF and 0 */
    uint8_t req[8];
    h_put32(h_put32(req, DMA1_CMAR_ADDR(1)), 0x20001234);
    CHECK(h_req(T_REG_WRITE, 0xFFFF, req, 8, &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(fake_reg_writes, 1);
    fake_set(DMA1_CMAR_ADDR(1), 0x20005678); /* would show a re-execution */
    CHECK(h_req(T_REG_WRITE, 0xFFFF, req, 8, &again));
    CHECK_EQ(again.type, 0x84);
    CHECK_EQ(again.seq, 0xFFFF);
    CHECK_EQ(again.len, r.len);
    CHECK_EQ(again.p[0], ST_OK);
    CHECK_EQ(fake_reg_writes, 1);
    CHECK_EQ(fake_get(DMA1_CMAR_ADDR(1)), 0x20005678);
    /* a cached refusal comes back too, still without execution */
    h_put32(req, 0x40021000);
    CHECK(h_req(T_REG_WRITE, 0, req, 8, &r));
    CHECK_EQ(r.p[0], ST_REG_NOT_ALLOWED);
    CHECK(h_req(T_REG_READ, 0, req, 4, &again));
    CHECK_EQ(again.type, 0x84); /* the cached reply, whatever was resent */
    CHECK_EQ(again.p[0], ST_REG_NOT_ALLOWED);
    CHECK_EQ(fake_reg_writes, 1);
}

TEST(session_window_of_four_then_stale)
{
    struct reply r;
    h_open(100);
    for (uint16_t s = 101; s <= 105; s++) {
        uint8_t p = (uint8_t)s;
        CHECK(h_req(T_PING, s, &p, 1, &r));
        CHECK_EQ(r.p[0], ST_OK);
    }
    /* 102..105 cached, 101 evicted */
    for (uint16_t s = 102; s <= 105; s++) {
        CHECK(h_req(T_PING, s, 0, 0, &r));
        CHECK_EQ(r.seq, s);
        CHECK_EQ(r.len, 2);
        CHECK_EQ(r.p[1], (uint8_t)s);
    }
    CHECK(h_req(T_PING, 101, 0, 0, &r));
    CHECK_EQ(r.type, 0x82);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(r.p[0], ST_STALE);
    /* the HELLO's own seq is not a cached request: STALE */
    CHECK(h_req(T_PING, 100, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_STALE);
    /* far back (d = 32768) */
    CHECK(h_req(T_PING, (uint16_t)(106 + 32768), 0, 0, &r));
    CHECK_EQ(r.p[0], ST_STALE);
}

TEST(session_hello_retransmission_idempotent)
{
    struct reply r, h2;
    h_open(50);
    CHECK(h_req(T_PING, 51, 0, 0, &r));
    CHECK(h_req(T_PING, 52, 0, 0, &r));
    CHECK(h_req(T_HELLO, 50, 0, 0, &h2));
    CHECK_EQ(h2.type, 0x81);
    CHECK_EQ(h2.len, 50 + 7 + 4 * 6);
    /* nothing changed: cache intact, expected still 53 */
    CHECK(h_req(T_PING, 52, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK(h_req(T_PING, 53, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(session_new_hello_clears_cache)
{
    struct reply r;
    h_open(50);
    CHECK(h_req(T_PING, 51, 0, 0, &r));
    CHECK(h_req(T_HELLO, 900, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK(h_req(T_PING, 51, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_STALE); /* d = 51 - 901 mod 2^16 >= 32768 */
    CHECK(h_req(T_PING, 901, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(session_unknown_command_is_sequenced)
{
    struct reply r;
    h_open(1);
    CHECK(h_req(0x30, 2, 0, 0, &r));
    CHECK_EQ(r.type, 0xB0);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(r.p[0], ST_UNKNOWN_COMMAND);
    CHECK(h_req(T_PING, 3, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK(h_req(0x30, 2, 0, 0, &r)); /* cached */
    CHECK_EQ(r.p[0], ST_UNKNOWN_COMMAND);
}

/* PROTOCOL.md 2, HELLO: a sequenced request on the HELLO's seq is taken
 * for a retransmission older than the cache: STALE, nothing executed. */
TEST(session_request_on_the_hello_seq_is_stale)
{
    struct reply r;
    h_open(40);
    uint8_t req[8];
    h_put32(h_put32(req, DMA1_CMAR_ADDR(1)), 0x20001000);
    CHECK(h_req(T_REG_WRITE, 40, req, 8, &r));
    CHECK_EQ(r.type, 0x84);
    CHECK_EQ(r.seq, 40);
    CHECK_EQ(r.p[0], ST_STALE);
    CHECK_EQ(fake_reg_writes, 0);
    /* the session goes on at HELLO's seq + 1 */
    CHECK(h_req(T_PING, 41, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
}
