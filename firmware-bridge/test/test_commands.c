/* Each command (PROTOCOL.md 2) and its length checks. */
#include <string.h>

#include "helpers.h"
#include "../src/core/bridge.h"
#include "runner.h"

TEST(cmd_ping_echo_and_limits)
{
    struct reply r;
    uint8_t p[256];
    for (int i = 0; i < 256; i++)
        p[i] = (uint8_t)i;
    h_open(1);
    CHECK(h_req(T_PING, 2, p, 255, &r));
    CHECK_EQ(r.len, 256);
    CHECK_EQ(r.p[0], ST_OK);
    CHECK(memcmp(r.p + 1, p, 255) == 0);
    CHECK(h_req(T_PING, 3, 0, 0, &r));
    CHECK_EQ(r.len, 1);
    CHECK(h_req(T_PING, 4, p, 256, &r));
    CHECK_EQ(r.len, 1);
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
}

TEST(cmd_reg_read_and_write)
{
    struct reply r;
    uint32_t v = 0;
    h_open(1);
    h_seq = 2;
    CHECK_EQ(h_reg_write(USART1_BASE + 0x0C, 556, &r), ST_OK);
    CHECK_EQ(r.type, 0x84);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(fake_get(USART1_BASE + 0x0C), 556);
    CHECK_EQ(h_reg_read(USART1_BASE + 0x0C, &v, &r), ST_OK);
    CHECK_EQ(r.type, 0x83);
    CHECK_EQ(r.len, 5);
    CHECK_EQ(v, 556);
    CHECK_EQ(h_reg_read(USART1_ISR_ADDR, &v, &r), ST_OK);
    CHECK_EQ(v, 0xC0);
}

TEST(cmd_reg_bad_length)
{
    struct reply r;
    uint8_t p[9] = { 0 };
    h_open(1);
    CHECK(h_req(T_REG_READ, 2, p, 3, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK(h_req(T_REG_READ, 3, p, 5, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK(h_req(T_REG_WRITE, 4, p, 7, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK(h_req(T_REG_WRITE, 5, p, 9, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(fake_reg_writes, 0);
}

TEST(cmd_dma_isr_masked_to_channels_1_2)
{
    struct reply r;
    uint32_t v = 0;
    h_open(1);
    h_seq = 2;
    fake_set(DMA1_ISR_ADDR, 0x0FFFF0A7u);
    CHECK_EQ(h_reg_read(DMA1_ISR_ADDR, &v, &r), ST_OK);
    CHECK_EQ(v, 0xA7);
}

TEST(cmd_mem_write_then_read)
{
    struct reply r;
    uint8_t p[64];
    h_open(1);
    h_put32(p, FAKE_ARENA_BASE + 100);
    for (int i = 0; i < 20; i++)
        p[4 + i] = (uint8_t)(0xC0 + i);
    CHECK(h_req(T_MEM_WRITE, 2, p, 24, &r));
    CHECK_EQ(r.type, 0x87);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(fake_arena[100], 0xC0);
    h_put16(h_put32(p, FAKE_ARENA_BASE + 101), 5);
    CHECK(h_req(T_MEM_READ, 3, p, 6, &r));
    CHECK_EQ(r.type, 0x86);
    CHECK_EQ(r.len, 6);
    CHECK(r.p[0] == ST_OK && r.p[1] == 0xC1 && r.p[5] == 0xC5);
}

TEST(cmd_mem_read_limits)
{
    struct reply r;
    uint8_t p[8];
    h_open(1);
    h_put16(h_put32(p, FAKE_ARENA_BASE), 256);
    CHECK(h_req(T_MEM_READ, 2, p, 6, &r));
    CHECK_EQ(r.len, 257);
    CHECK_EQ(r.p[0], ST_OK);
    h_put16(h_put32(p, FAKE_ARENA_BASE), 257);
    CHECK(h_req(T_MEM_READ, 3, p, 6, &r));
    CHECK_EQ(r.p[0], ST_OUT_OF_ARENA);
    h_put16(h_put32(p, FAKE_ARENA_BASE), 0);
    CHECK(h_req(T_MEM_READ, 4, p, 6, &r));
    CHECK_EQ(r.p[0], ST_OUT_OF_ARENA);
    CHECK(h_req(T_MEM_READ, 5, p, 5, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK(h_req(T_MEM_READ, 6, p, 7, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    /* only the first request read memory (DMB, then the read) */
    CHECK_EQ(fake_log_find(0, FK_MEM_READ, ~0u), 1);
    CHECK_EQ(fake_log_find(2, FK_MEM_READ, ~0u), -1);
}

TEST(cmd_mem_write_lengths)
{
    struct reply r;
    uint8_t p[8];
    h_open(1);
    h_put32(p, FAKE_ARENA_BASE);
    CHECK(h_req(T_MEM_WRITE, 2, p, 3, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK(h_req(T_MEM_WRITE, 3, p, 4, &r)); /* empty */
    CHECK_EQ(r.p[0], ST_OUT_OF_ARENA);
    CHECK_EQ(fake_mem_writes, 0);
}

TEST(cmd_reset_peripherals)
{
    struct reply r;
    h_open(1);
    fake_set(DMA1_CCR_ADDR(1), 0x93);
    fake_set(DMAMUX1_CCR_ADDR(0), 51);
    CHECK(h_req(T_RESET_PERIPHERALS, 2, 0, 0, &r));
    CHECK_EQ(r.type, 0x88);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(r.p[0], ST_OK);
    CHECK(fake_log_find(0, FK_RESET, ~0u) >= 0);
    CHECK_EQ(fake_get(DMA1_CCR_ADDR(1)), 0);
    CHECK_EQ(fake_get(DMAMUX1_CCR_ADDR(0)), 0);
    const uint8_t x = 0;
    CHECK(h_req(T_RESET_PERIPHERALS, 3, &x, 1, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
}

TEST(cmd_unknown_command)
{
    struct reply r;
    h_open(1);
    const uint8_t types[] = { 0x20, 0x3F };
    for (unsigned i = 0; i < sizeof types; i++) {
        CHECK(h_req(types[i], (uint16_t)(2 + i), 0, 0, &r));
        CHECK_EQ(r.type, types[i] | 0x80);
        CHECK_EQ(r.seq, 2 + i);
        CHECK_EQ(r.p[0], ST_UNKNOWN_COMMAND);
    }
}

TEST(cmd_types_outside_the_request_range_are_naked_unexecuted)
{
    struct reply r;
    h_open(1);
    /* an event type, 0x7F whose reply type would be the NAK's, reply types */
    const uint8_t types[] = { 0x00, 0x40, 0x41, 0x7F, 0x80, 0x81, 0xFE, 0xFF };
    for (unsigned i = 0; i < sizeof types; i++) {
        CHECK(h_req(types[i], 2, 0, 0, &r));
        CHECK_EQ(r.type, T_NAK);
        CHECK_EQ(r.seq, 2);
        CHECK_EQ(r.p[0], ST_UNKNOWN_COMMAND);
    }
    /* none was sequenced: seq 2 is still the one expected */
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    CHECK_EQ(r.type, T_PING | T_REPLY_BIT);
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(barrier_dmb_before_mem_read)
{
    struct reply r;
    uint8_t p[8];
    h_open(1);
    h_put16(h_put32(p, FAKE_ARENA_BASE + 8), 4);
    CHECK(h_req(T_MEM_READ, 2, p, 6, &r));
    long m = fake_log_find(0, FK_MEM_READ, ~0u);
    CHECK(m > 0);
    CHECK_EQ(fake_log[m - 1].op, FK_DMB);
}

TEST(barrier_dsb_immediately_before_en_write)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 16);
    CHECK_EQ(h_reg_write(DMA1_CCR_ADDR(1), DMA_CCR_EN | DMA_CCR_DIR | DMA_CCR_MINC | DMA_CCR_TCIE, &r),
             ST_OK);
    long w = fake_log_find(0, FK_REG_WRITE, DMA1_CCR_ADDR(1));
    CHECK(w > 0);
    CHECK_EQ(fake_log[w - 1].op, FK_DSB);
    CHECK_EQ(fake_violations, 0);
    /* a write that does not set EN needs no DSB */
    fake_log_clear();
    CHECK_EQ(h_reg_write(DMA1_CCR_ADDR(1), 0, &r), ST_OK);
    CHECK_EQ(fake_log_find(0, FK_DSB, ~0u), -1);
}

TEST(barrier_dsb_for_batch_and_masked_write)
{
    struct reply r;
    uint8_t b[64], *q = b;
    h_open(1);
    h_setup_channel(2, 0, FAKE_ARENA_BASE + 64, 8);
    *q++ = OP_WRITE;
    q = h_put32(h_put32(q, DMA1_CCR_ADDR(2)), DMA_CCR_MINC);
    *q++ = OP_MASKED_WRITE;
    q = h_put32(h_put32(h_put32(q, DMA1_CCR_ADDR(2)), DMA_CCR_EN), DMA_CCR_EN);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(r.p[1], 2);
    CHECK_EQ(fake_get(DMA1_CCR_ADDR(2)), DMA_CCR_MINC | DMA_CCR_EN);
    long first = fake_log_find(0, FK_REG_WRITE, DMA1_CCR_ADDR(2));
    long w = fake_log_find((size_t)first + 1, FK_REG_WRITE, DMA1_CCR_ADDR(2));
    CHECK(w > 0);
    CHECK_EQ(fake_log[w - 1].op, FK_DSB);
    CHECK_EQ(fake_violations, 0);
}

TEST(set_link_baud_switches_to_a_listed_rate_and_refuses_others)
{
    struct reply r;
    uint8_t req[5];
    h_open(1);
    h_put32(req, 2000000u);
    CHECK(h_req(T_SET_LINK_BAUD, 2, req, 4, &r));
    CHECK_EQ(r.type, T_SET_LINK_BAUD | T_REPLY_BIT);
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(fake_link_switch_to, 2000000u);
    fake_link_switch_to = 0;
    const uint32_t refused[] = { 2250000u, 3000000u, 9600u, 0u };
    for (unsigned i = 0; i < 4; i++) {
        h_put32(req, refused[i]);
        CHECK(h_req(T_SET_LINK_BAUD, (uint16_t)(3 + i), req, 4, &r));
        CHECK_EQ(r.p[0], ST_VALUE_NOT_ALLOWED);
        CHECK_EQ(h_get32(r.p + 1), refused[i]);
    }
    CHECK(h_req(T_SET_LINK_BAUD, 7, req, 5, &r)); /* wrong length */
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK_EQ(fake_link_switch_to, 0u);
}

TEST(a_frame_with_a_good_crc_confirms_the_link_rate)
{
    struct reply r;
    h_open(1);
    unsigned long before = fake_link_frames_ok;
    uint8_t junk[] = { 0x05, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x00 }; /* bad CRC */
    h_feed(junk, sizeof junk);
    CHECK_EQ(fake_link_frames_ok, before);
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    CHECK_EQ(fake_link_frames_ok, before + 1u);
}

TEST(dropped_frames_are_counted_refused_or_cut_off_by_a_rate_switch)
{
    struct reply r;
    h_open(1);
    uint8_t bad_crc[] = { 0x07, 0x02, 0x02, 0x07, 0x05, 0x01, 0x02, 0x00 };
    uint8_t bad_cobs[] = { 0x09, 0x02, 0x00 };
    h_feed(bad_crc, sizeof bad_crc);
    h_feed(bad_cobs, sizeof bad_cobs);
    CHECK_EQ(fake_status.link_frames_dropped, 2u);
    CHECK(h_next(&r) && r.type == T_NAK);
    CHECK(h_next(&r) && r.type == T_NAK);
    /* half a PING arrived at the old rate when the link switched: dropped */
    uint8_t wire[64];
    size_t n = h_frame(PROTO_VERSION, T_PING, 2, 0, 0, wire);
    h_feed(wire, n / 2);
    bridge_rx_restart();
    CHECK_EQ(fake_status.link_frames_dropped, 3u);
    /* nothing in progress: nothing counted; the next frame is whole */
    bridge_rx_restart();
    CHECK_EQ(fake_status.link_frames_dropped, 3u);
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK(h_req(T_BOARD_STATUS, 3, 0, 0, &r));
    CHECK_EQ(h_get32(r.p + 29), 3u);
}

TEST(board_status_reports_the_health_counters_in_order)
{
    struct reply r;
    h_open(1);
    fake_status.reset_flags = 0x14000000u; /* PINRSTF | SFTRSTF */
    fake_status.link_rx_dropped = 7;
    fake_status.link_rx_errors = 3;
    fake_status.link_fallbacks = 2;
    fake_status.fault_pc = 0x08000123u;
    fake_status.fault_count = 1;
    CHECK(h_req(T_BOARD_STATUS, 2, 0, 0, &r));
    CHECK_EQ(r.type, T_BOARD_STATUS | T_REPLY_BIT);
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(r.len, 1u + 8u * 4u);
    CHECK_EQ(h_get32(r.p + 1), 0x14000000u);
    CHECK_EQ(h_get32(r.p + 5), 7u);
    CHECK_EQ(h_get32(r.p + 9), 3u);
    CHECK_EQ(h_get32(r.p + 13), 2u);
    CHECK_EQ(h_get32(r.p + 17), 0u); /* events dropped: none */
    CHECK_EQ(h_get32(r.p + 21), 0x08000123u);
    CHECK_EQ(h_get32(r.p + 25), 1u);
    CHECK_EQ(h_get32(r.p + 29), 0u); /* request frames dropped: none */
    uint8_t extra = 0;
    CHECK(h_req(T_BOARD_STATUS, 3, &extra, 1, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
}
