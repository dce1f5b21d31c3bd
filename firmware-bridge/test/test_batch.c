/* REG_BATCH (PROTOCOL.md 2): ops, partial failure, limits. */
#include <string.h>

#include "helpers.h"
#include "runner.h"

static uint8_t *op_read(uint8_t *q, uint32_t a)
{
    *q++ = OP_READ;
    return h_put32(q, a);
}

static uint8_t *op_write(uint8_t *q, uint32_t a, uint32_t v)
{
    *q++ = OP_WRITE;
    return h_put32(h_put32(q, a), v);
}

static uint8_t *op_poll(uint8_t *q, uint32_t a, uint32_t mask, uint32_t match, uint16_t t)
{
    *q++ = OP_POLL;
    return h_put16(h_put32(h_put32(h_put32(q, a), mask), match), t);
}

TEST(batch_empty_ok)
{
    struct reply r;
    h_open(1);
    CHECK(h_req(T_REG_BATCH, 2, 0, 0, &r));
    CHECK_EQ(r.type, 0x85);
    CHECK_EQ(r.len, 3);
    CHECK(r.p[0] == ST_OK && r.p[1] == 0 && r.p[2] == 0);
}

TEST(batch_all_ops)
{
    struct reply r;
    uint8_t b[128], *q = b;
    h_open(1);
    fake_set(USART1_BASE + 0x0C, 0x1234);
    q = op_write(q, USART1_BASE + 0x2C, 3);
    q = op_read(q, USART1_BASE + 0x2C);
    *q++ = OP_MASKED_WRITE;
    q = h_put32(h_put32(h_put32(q, USART1_BASE + 0x0C), 0x00FF), 0xABCD);
    q = op_read(q, USART1_BASE + 0x0C);
    q = op_poll(q, USART1_ISR_ADDR, 0xC0, 0xC0, 100);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(r.p[1], 5);
    CHECK_EQ(r.p[2], 2);
    CHECK_EQ(r.len, 3 + 8);
    CHECK_EQ(h_get32(r.p + 3), 3);
    CHECK_EQ(h_get32(r.p + 7), 0x12CD);
}

TEST(batch_partial_failure_executed_values_detail)
{
    struct reply r;
    uint8_t b[128], *q = b;
    h_open(1);
    fake_set(USART1_BASE + 0x04, 0x11);
    q = op_read(q, USART1_BASE + 0x04);
    q = op_write(q, USART1_BASE + 0x08, 0x40);
    q = op_read(q, USART1_BASE + 0x08);
    q = op_write(q, 0x40021000, 1); /* refused */
    q = op_write(q, USART1_BASE + 0x0C, 99);
    q = op_read(q, USART1_BASE + 0x0C);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_REG_NOT_ALLOWED);
    CHECK_EQ(r.p[1], 3);
    CHECK_EQ(r.p[2], 2);
    CHECK_EQ(h_get32(r.p + 3), 0x11);
    CHECK_EQ(h_get32(r.p + 7), 0x40);
    CHECK_EQ(r.len, 3 + 8 + 4);
    CHECK_EQ(h_get32(r.p + 11), 0x40021000);
    CHECK_EQ(fake_get(USART1_BASE + 0x0C), 0); /* nothing after the failure ran */
}

TEST(batch_dma_start_refused_detail)
{
    struct reply r;
    uint8_t b[64], *q = b;
    h_open(1);
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 0);
    q = op_read(q, DMA1_CNDTR_ADDR(1));
    q = op_write(q, DMA1_CCR_ADDR(1), DMA_CCR_EN | DMA_CCR_DIR | DMA_CCR_MINC);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_DMA_START_REFUSED);
    CHECK_EQ(r.p[1], 1);
    CHECK_EQ(r.p[2], 1);
    CHECK_EQ(r.len, 3 + 4 + 1);
    CHECK_EQ(r.p[7], DSR_CNDTR_ZERO);
}

TEST(batch_busy_has_no_detail)
{
    struct reply r;
    uint8_t b[64], *q = b;
    h_open(1);
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 4);
    q = op_write(q, DMA1_CCR_ADDR(1), DMA_CCR_EN | DMA_CCR_DIR | DMA_CCR_MINC);
    q = op_write(q, DMAMUX1_CCR_ADDR(0), 0);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_BUSY);
    CHECK_EQ(r.p[1], 1);
    CHECK_EQ(r.len, 3);
}

TEST(batch_poll_timeout_last_value)
{
    struct reply r;
    uint8_t b[64], *q = b;
    h_open(1);
    fake_micros_step = 7;
    q = op_read(q, USART1_ISR_ADDR);
    q = op_poll(q, USART1_ISR_ADDR, USART_ISR_TC | USART_ISR_IDLE, USART_ISR_IDLE, 1000);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_POLL_TIMEOUT);
    CHECK_EQ(r.p[1], 1);
    CHECK_EQ(r.p[2], 1);
    CHECK_EQ(r.len, 3 + 4 + 4);
    CHECK_EQ(h_get32(r.p + 7), 0xC0);
    CHECK(fake_micros_now >= 1000);
    CHECK(fake_micros_now < 1100);
}

TEST(batch_poll_zero_timeout_reads_once)
{
    struct reply r;
    uint8_t b[64], *q = b;
    h_open(1);
    q = op_poll(q, USART1_ISR_ADDR, 0xFF, 0x00, 0);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_POLL_TIMEOUT);
    CHECK_EQ(fake_log_find(1, FK_REG_READ, USART1_ISR_ADDR), -1);
}

TEST(batch_poll_frozen_clock_still_ends)
{
    struct reply r;
    uint8_t b[64], *q = b;
    h_open(1);
    fake_micros_step = 0;
    q = op_poll(q, USART1_ISR_ADDR, 0xFF, 0x00, 10);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_POLL_TIMEOUT);
}

TEST(batch_poll_refused_register)
{
    struct reply r;
    uint8_t b[64], *q = b;
    h_open(1);
    q = op_poll(q, USART1_TDR_ADDR, 1, 1, 10);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_REG_NOT_ALLOWED);
    CHECK_EQ(r.p[1], 0);
    CHECK_EQ(h_get32(r.p + 3), USART1_TDR_ADDR);
}

TEST(batch_op_cut_short)
{
    struct reply r;
    uint8_t b[64], *q = b;
    h_open(1);
    q = op_write(q, USART1_BASE + 0x0C, 5);
    q = op_write(q, USART1_BASE + 0x08, 5);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b) - 1, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK_EQ(r.p[1], 1);
    CHECK_EQ(r.len, 3);
    CHECK_EQ(fake_get(USART1_BASE + 0x08), 0);
}

TEST(batch_unknown_op)
{
    struct reply r;
    uint8_t b[64], *q = b;
    h_open(1);
    q = op_read(q, USART1_BASE);
    *q++ = 0x06;
    q = h_put32(q, USART1_BASE);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK_EQ(r.p[1], 1);
    CHECK_EQ(r.p[2], 1);
    b[0] = 0x00;
    CHECK(h_req(T_REG_BATCH, 3, b, 5, &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK_EQ(r.p[1], 0);
}

TEST(batch_64_reads_max)
{
    struct reply r;
    static uint8_t b[1024];
    uint8_t *q = b;
    h_open(1);
    for (int i = 0; i < 64; i++)
        q = op_read(q, USART1_ISR_ADDR);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(r.p[2], 64);
    CHECK_EQ(r.len, 3 + 256);
    q = op_read(q, USART1_ISR_ADDR);
    CHECK(h_req(T_REG_BATCH, 3, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK_EQ(r.p[1], 64);
    CHECK_EQ(r.p[2], 64);
    CHECK(r.len <= MAX_REPLY_PAYLOAD);
}

TEST(batch_largest_reply_fits)
{
    /* 64 reads then a refused write: 3 + 256 + 4 = 263 bytes */
    struct reply r;
    static uint8_t b[1024];
    uint8_t *q = b;
    h_open(1);
    for (int i = 0; i < 64; i++)
        q = op_read(q, USART1_ISR_ADDR);
    q = op_write(q, 0x1234, 0);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_REG_NOT_ALLOWED);
    CHECK_EQ(r.len, 263);
    CHECK_EQ(h_get32(r.p + 259), 0x1234);
}

TEST(batch_many_writes)
{
    /* 85 writes fill 1020 bytes: executed counts past 64 */
    struct reply r;
    static uint8_t b[1024];
    uint8_t *q = b;
    h_open(1);
    for (int i = 0; i < 113; i++)
        q = op_write(q, USART1_BASE + 0x10, (uint32_t)i);
    CHECK((size_t)(q - b) <= 1024);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(r.p[1], 113);
    CHECK_EQ(fake_get(USART1_BASE + 0x10), 112);
}

TEST(batch_polls_share_one_time_budget)
{
    struct reply r;
    uint8_t b[64], *q = b;
    h_open(1);
    fake_micros_step = 5;
    uint32_t t0 = fake_micros_now;
    /* RXNE rises after 60 ms, IDLE after 120 ms: each within its POLL's own
     * 65 ms, but the second past the batch's 100 ms */
    fake_changes[0] = (struct fake_change){ USART1_ISR_ADDR, USART_ISR_IDLE, t0 + 120000u };
    fake_changes[1] = (struct fake_change){ USART1_ISR_ADDR, USART_ISR_RXNE, t0 + 60000u };
    q = op_poll(q, USART1_ISR_ADDR, USART_ISR_RXNE, USART_ISR_RXNE, 65000);
    q = op_poll(q, USART1_ISR_ADDR, USART_ISR_IDLE, USART_ISR_IDLE, 65000);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_POLL_TIMEOUT);
    CHECK_EQ(r.p[1], 1); /* the first POLL matched */
    CHECK(fake_micros_now - t0 >= BATCH_POLL_BUDGET_US);
    CHECK(fake_micros_now - t0 < BATCH_POLL_BUDGET_US + 1000u);
}
