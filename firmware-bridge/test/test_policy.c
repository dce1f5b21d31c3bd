/* Every refusal of PROTOCOL.md 5 and 6, one test each. */
#include <string.h>

#include "helpers.h"
#include "../src/core/bridge.h"
#include "runner.h"

#define CCR_TX (DMA_CCR_EN | DMA_CCR_DIR | DMA_CCR_MINC)
#define CCR_RX (DMA_CCR_EN | DMA_CCR_MINC)

TEST(refuse_register_not_allowed)
{
    struct reply r;
    uint32_t v = 0;
    h_open(1);
    h_seq = 2;
    const uint32_t bad[] = { 0x40021000, DMA1_CCR_ADDR(3), DMA1_CH_BASE(1) + 0x10, DMAMUX1_CCR_ADDR(2),
                             USART2_BASE, USART1_BASE + 0x30, 0x20001000, 0x08000000, 0xE000ED0C,
                             0xFFFFFFFC };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(h_reg_write(bad[i], 0, &r), ST_REG_NOT_ALLOWED);
        CHECK_EQ(r.len, 5);
        CHECK_EQ(h_get32(r.p + 1), bad[i]);
        CHECK_EQ(h_reg_read(bad[i], &v, &r), ST_REG_NOT_ALLOWED);
        CHECK_EQ(h_get32(r.p + 1), bad[i]);
    }
    CHECK_EQ(fake_reg_writes, 0);
    CHECK_EQ(fake_violations, 0);
}

TEST(refuse_unaligned)
{
    struct reply r;
    uint32_t v = 0;
    h_open(1);
    h_seq = 2;
    for (uint32_t k = 1; k < 4; k++) {
        CHECK_EQ(h_reg_read(USART1_BASE + k, &v, &r), ST_REG_NOT_ALLOWED);
        CHECK_EQ(h_get32(r.p + 1), USART1_BASE + k);
        CHECK_EQ(h_reg_write(DMA1_CCR_ADDR(1) + k, 0, &r), ST_REG_NOT_ALLOWED);
    }
    CHECK_EQ(fake_log_len, 0);
}

TEST(refuse_write_to_read_only)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    CHECK_EQ(h_reg_write(DMA1_ISR_ADDR, 0, &r), ST_REG_NOT_ALLOWED);
    CHECK_EQ(h_reg_write(USART1_ISR_ADDR, 0, &r), ST_REG_NOT_ALLOWED);
    CHECK_EQ(h_reg_write(USART1_RDR_ADDR, 0, &r), ST_REG_NOT_ALLOWED);
    CHECK_EQ(fake_reg_writes, 0);
}

TEST(refuse_read_of_write_only)
{
    struct reply r;
    uint32_t v = 0;
    h_open(1);
    h_seq = 2;
    CHECK_EQ(h_reg_read(DMA1_IFCR_ADDR, &v, &r), ST_REG_NOT_ALLOWED);
    CHECK_EQ(h_reg_read(USART1_ICR_ADDR, &v, &r), ST_REG_NOT_ALLOWED);
    CHECK_EQ(h_reg_read(USART1_RQR_ADDR, &v, &r), ST_REG_NOT_ALLOWED);
    CHECK_EQ(h_reg_read(USART1_TDR_ADDR, &v, &r), ST_REG_NOT_ALLOWED);
    CHECK_EQ(fake_log_len, 0);
}

TEST(refuse_ifcr_other_channel_bits)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    CHECK_EQ(h_reg_write(DMA1_IFCR_ADDR, 0x100, &r), ST_VALUE_NOT_ALLOWED);
    CHECK_EQ(r.len, 5);
    CHECK_EQ(h_get32(r.p + 1), DMA1_IFCR_ADDR);
    CHECK_EQ(h_reg_write(DMA1_IFCR_ADDR, 0x800000FF, &r), ST_VALUE_NOT_ALLOWED);
    CHECK_EQ(fake_reg_writes, 0);
    CHECK_EQ(h_reg_write(DMA1_IFCR_ADDR, 0xFF, &r), ST_OK);
}

TEST(refuse_usart1_rxneie_txeie)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    CHECK_EQ(h_reg_write(USART1_CR1_ADDR, USART_CR1_UE | USART_CR1_RXNEIE, &r), ST_VALUE_NOT_ALLOWED);
    CHECK_EQ(h_get32(r.p + 1), USART1_CR1_ADDR);
    CHECK_EQ(h_reg_write(USART1_CR1_ADDR, USART_CR1_UE | USART_CR1_TXEIE, &r), ST_VALUE_NOT_ALLOWED);
    CHECK_EQ(fake_reg_writes, 0);
    CHECK_EQ(h_reg_write(USART1_CR1_ADDR,
                         USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_IDLEIE | USART_CR1_TCIE |
                             USART_CR1_PEIE,
                         &r),
             ST_OK);
    /* a masked write is checked on the value it would write */
    uint8_t b[16], *q = b;
    *q++ = OP_MASKED_WRITE;
    q = h_put32(h_put32(h_put32(q, USART1_CR1_ADDR), USART_CR1_RXNEIE), USART_CR1_RXNEIE);
    CHECK(h_req(T_REG_BATCH, h_seq++, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_VALUE_NOT_ALLOWED);
    CHECK_EQ(fake_reg_writes, 1);
}

TEST(refuse_usart1_unreported_interrupt_enables)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    CHECK_EQ(h_reg_write(USART1_CR1_ADDR, USART_CR1_CMIE, &r), ST_VALUE_NOT_ALLOWED);
    CHECK_EQ(h_reg_write(USART1_CR1_ADDR, USART_CR1_RTOIE, &r), ST_VALUE_NOT_ALLOWED);
    CHECK_EQ(h_reg_write(USART1_CR2_ADDR, USART_CR2_LBDIE, &r), ST_VALUE_NOT_ALLOWED);
    CHECK_EQ(h_reg_write(USART1_CR3_ADDR, USART_CR3_TXFTIE, &r), ST_VALUE_NOT_ALLOWED);
    CHECK_EQ(h_reg_write(USART1_CR3_ADDR, USART_CR3_CTSIE, &r), ST_VALUE_NOT_ALLOWED);
    CHECK_EQ(fake_reg_writes, 0);
    CHECK_EQ(h_reg_write(USART1_CR3_ADDR, USART_CR3_EIE | (1u << 6) | (1u << 7), &r), ST_OK);
}

/* A start that passes every check; each test below breaks one thing. */
static uint8_t try_start(unsigned ch, uint32_t ccr, struct reply *r)
{
    return h_reg_write(DMA1_CCR_ADDR(ch), ccr, r);
}

static int refused_with(unsigned ch, uint32_t ccr, uint8_t reason)
{
    struct reply r;
    unsigned long before = fake_reg_writes;
    fake_log_clear(); /* only this attempt's barriers count */
    if (try_start(ch, ccr, &r) != ST_DMA_START_REFUSED || r.len != 2 || r.p[1] != reason)
        return 0;
    return fake_reg_writes == before && fake_log_find(0, FK_DSB, ~0u) < 0;
}

TEST(dma_start_valid_both_directions)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 100);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
    h_setup_channel(2, 0, FAKE_ARENA_BASE + 0x1000, 50);
    CHECK_EQ(try_start(2, CCR_RX | (2u << 10) | (2u << 8), &r), ST_OK);
    CHECK_EQ(fake_violations, 0);
}

TEST(dma_start_restarts_the_completion_count_and_a_refusal_does_not)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 100);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
    ev_post_dma(1, DMA_FLAG_HTIF, 50, 0);
    ev_post_dma(1, DMA_FLAG_TCIF, 0, 0);
    fake_set(DMA1_CCR_ADDR(1), 0); /* the transfer ended */
    h_setup_channel(1, 1, 0x20000000u, 100); /* outside the arena: refused */
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_DMA_START_REFUSED);
    ev_post_dma(1, DMA_FLAG_HTIF, 50, 0);
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 100);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
    ev_post_dma(1, DMA_FLAG_HTIF, 50, 0);
    bridge_flush_events();
    const uint16_t want[] = { 1, 2, 3, 1 };
    int seen = 0;
    while (h_next(&r)) {
        if (r.type != T_EV_DMA)
            continue;
        CHECK(seen < 4);
        CHECK_EQ(h_get16(r.p + 8), want[seen]);
        seen++;
    }
    CHECK_EQ(seen, 4);
}

TEST(dma_start_refused_1_outside_arena)
{
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE - 4, 8);
    CHECK(refused_with(1, CCR_TX, DSR_ARENA));
    /* ends one byte past the arena */
    h_setup_channel(1, 1, FAKE_ARENA_BASE + FAKE_ARENA_SIZE - 99, 100);
    CHECK(refused_with(1, CCR_TX, DSR_ARENA));
    /* 32-bit items: CNDTR x 4 reaches past the end */
    h_setup_channel(1, 0, FAKE_ARENA_BASE + FAKE_ARENA_SIZE - 256, 65);
    CHECK(refused_with(1, CCR_RX | (2u << 10), DSR_ARENA));
    /* CMAR near 2^32: no wraparound into the arena */
    h_setup_channel(1, 0, 0xFFFFFFF0u, 0xFFFF);
    CHECK(refused_with(1, CCR_RX, DSR_ARENA));
    /* MINC = 0: one item, still must be inside */
    h_setup_channel(1, 0, 0x20000000, 1000);
    CHECK(refused_with(1, DMA_CCR_EN, DSR_ARENA));
    /* exactly up to the end is fine */
    struct reply r;
    h_setup_channel(1, 1, FAKE_ARENA_BASE + FAKE_ARENA_SIZE - 100, 100);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
}

TEST(dma_start_refused_2_peripheral_address)
{
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 8);
    fake_set(DMA1_CPAR_ADDR(1), USART1_RDR_ADDR); /* RDR with DIR = 1 */
    CHECK(refused_with(1, CCR_TX, DSR_PERIPH_ADDR));
    h_setup_channel(1, 0, FAKE_ARENA_BASE, 8);
    fake_set(DMA1_CPAR_ADDR(1), USART1_TDR_ADDR); /* TDR with DIR = 0 */
    CHECK(refused_with(1, CCR_RX, DSR_PERIPH_ADDR));
    fake_set(DMA1_CPAR_ADDR(1), 0x20001000);
    CHECK(refused_with(1, CCR_RX, DSR_PERIPH_ADDR));
}

TEST(dma_start_refused_3_dmamux)
{
    h_open(1);
    h_seq = 2;
    h_setup_channel(2, 1, FAKE_ARENA_BASE, 8);
    fake_set(DMAMUX1_CCR_ADDR(1), 50); /* RX request for a TX channel */
    CHECK(refused_with(2, CCR_TX, DSR_DMAMUX));
    fake_set(DMAMUX1_CCR_ADDR(1), 51 | (1u << 8)); /* extra bits */
    CHECK(refused_with(2, CCR_TX, DSR_DMAMUX));
    fake_set(DMAMUX1_CCR_ADDR(1), 53);
    CHECK(refused_with(2, CCR_TX, DSR_DMAMUX));
    /* channel 1's mux does not count for channel 2 */
    fake_set(DMAMUX1_CCR_ADDR(0), 51);
    fake_set(DMAMUX1_CCR_ADDR(1), 0);
    CHECK(refused_with(2, CCR_TX, DSR_DMAMUX));
}

TEST(dma_start_refused_4_mem2mem)
{
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 8);
    CHECK(refused_with(1, CCR_TX | DMA_CCR_MEM2MEM, DSR_MEM2MEM));
}

TEST(dma_start_refused_5_pinc)
{
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 8);
    CHECK(refused_with(1, CCR_TX | DMA_CCR_PINC, DSR_PINC));
}

TEST(dma_start_refused_6_sizes_and_alignment)
{
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 8);
    CHECK(refused_with(1, CCR_TX | (3u << 10), DSR_SIZE));
    CHECK(refused_with(1, CCR_TX | (3u << 8), DSR_SIZE));
    h_setup_channel(1, 1, FAKE_ARENA_BASE + 1, 8);
    CHECK(refused_with(1, CCR_TX | (1u << 10), DSR_SIZE));
    h_setup_channel(1, 1, FAKE_ARENA_BASE + 2, 8);
    CHECK(refused_with(1, CCR_TX | (2u << 10), DSR_SIZE));
    struct reply r;
    CHECK_EQ(try_start(1, CCR_TX | (1u << 10), &r), ST_OK);
}

TEST(dma_start_refused_7_cndtr_zero)
{
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 0);
    CHECK(refused_with(1, CCR_TX, DSR_CNDTR_ZERO));
    /* the register is 16 bits: upper bits do not count */
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 0x10000);
    CHECK(refused_with(1, CCR_TX, DSR_CNDTR_ZERO));
}

TEST(dma_start_reason_order)
{
    /* everything wrong: MEM2MEM is reported first (PROTOCOL.md 6 order) */
    h_open(1);
    h_seq = 2;
    fake_set(DMA1_CMAR_ADDR(1), 3);
    CHECK(refused_with(1, CCR_TX | DMA_CCR_MEM2MEM | DMA_CCR_PINC | (3u << 10), DSR_MEM2MEM));
    CHECK(refused_with(1, CCR_TX | DMA_CCR_PINC | (3u << 10), DSR_PINC));
    CHECK(refused_with(1, CCR_TX | (2u << 10), DSR_SIZE));
    fake_set(DMA1_CMAR_ADDR(1), 0);
    CHECK(refused_with(1, CCR_TX, DSR_CNDTR_ZERO));
    fake_set(DMA1_CNDTR_ADDR(1), 4);
    CHECK(refused_with(1, CCR_TX, DSR_PERIPH_ADDR));
    fake_set(DMA1_CPAR_ADDR(1), USART1_TDR_ADDR);
    CHECK(refused_with(1, CCR_TX, DSR_DMAMUX));
    fake_set(DMAMUX1_CCR_ADDR(0), 51);
    CHECK(refused_with(1, CCR_TX, DSR_ARENA));
}

/* PROTOCOL.md 6: a start whose memory overlaps the range another running
 * channel works on is refused, whatever the two directions are. */
TEST(dma_start_refused_9_overlap_with_the_other_running_channel)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE + 0x100, 64); /* transmit 0x100..0x13F */
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
    /* a reception into the memory the transmit reads: first byte, last byte, around it */
    h_setup_channel(2, 0, FAKE_ARENA_BASE + 0x100, 1);
    CHECK(refused_with(2, CCR_RX, DSR_OVERLAP));
    h_setup_channel(2, 0, FAKE_ARENA_BASE + 0x13F, 16);
    CHECK(refused_with(2, CCR_RX, DSR_OVERLAP));
    h_setup_channel(2, 0, FAKE_ARENA_BASE + 0xC0, 0x100);
    CHECK(refused_with(2, CCR_RX, DSR_OVERLAP));
    /* MINC = 0: one item at CMAR */
    h_setup_channel(2, 0, FAKE_ARENA_BASE + 0x13C, 100);
    CHECK(refused_with(2, DMA_CCR_EN | (2u << 10) | (2u << 8), DSR_OVERLAP));
    /* a second transmit over the same memory is refused too */
    h_setup_channel(2, 1, FAKE_ARENA_BASE + 0x120, 4);
    CHECK(refused_with(2, CCR_TX, DSR_OVERLAP));
    CHECK_EQ(fake_get(DMA1_CCR_ADDR(2)) & DMA_CCR_EN, 0);
    /* next to it is fine on both sides */
    h_setup_channel(2, 0, FAKE_ARENA_BASE + 0xC0, 0x40);
    CHECK_EQ(try_start(2, CCR_RX, &r), ST_OK);
    CHECK_EQ(try_start(2, 0, &r), ST_OK);
    h_setup_channel(2, 0, FAKE_ARENA_BASE + 0x140, 0x40);
    CHECK_EQ(try_start(2, CCR_RX, &r), ST_OK);
    CHECK_EQ(fake_violations, 0);
}

TEST(dma_start_overlap_the_other_way_and_the_range_recorded_at_start)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(2, 0, FAKE_ARENA_BASE + 0x400, 100); /* reception 0x400..0x463 */
    CHECK_EQ(try_start(2, CCR_RX, &r), ST_OK);
    /* a transmit reading memory the reception writes */
    h_setup_channel(1, 1, FAKE_ARENA_BASE + 0x460, 8);
    CHECK(refused_with(1, CCR_TX, DSR_OVERLAP));
    /* 90 bytes arrived: the protected range is still the whole buffer */
    fake_set(DMA1_CNDTR_ADDR(2), 10);
    h_setup_channel(1, 1, FAKE_ARENA_BASE + 0x400, 8);
    CHECK(refused_with(1, CCR_TX, DSR_OVERLAP));
    /* a one-shot reception that finished (CNDTR = 0, EN = 1) protects nothing */
    fake_set(DMA1_CNDTR_ADDR(2), 0);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
    CHECK_EQ(try_start(1, 0, &r), ST_OK);
    /* a circular one does, at any CNDTR */
    fake_set(DMA1_CCR_ADDR(2), CCR_RX | DMA_CCR_CIRC);
    h_setup_channel(1, 1, FAKE_ARENA_BASE + 0x400, 8);
    CHECK(refused_with(1, CCR_TX, DSR_OVERLAP));
    /* once the reception is stopped, its memory is free for a start */
    CHECK_EQ(try_start(2, 0, &r), ST_OK);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
}

TEST(dma_start_overlap_comes_after_the_arena_check)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 16);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
    h_setup_channel(2, 0, FAKE_ARENA_BASE - 4, 16); /* outside and overlapping */
    CHECK(refused_with(2, CCR_RX, DSR_ARENA));
    /* a transfer error flag on the channel being started is reported after the overlap */
    h_setup_channel(2, 0, FAKE_ARENA_BASE, 16);
    fake_set(DMA1_ISR_ADDR, 0x90u);
    CHECK(refused_with(2, CCR_RX, DSR_OVERLAP));
}

TEST(refuse_out_of_arena_mem)
{
    struct reply r;
    uint8_t p[16];
    h_open(1);
    uint16_t s = 2;
    const uint32_t addrs[] = { FAKE_ARENA_BASE - 1, FAKE_ARENA_BASE + FAKE_ARENA_SIZE - 3,
                               FAKE_ARENA_BASE + FAKE_ARENA_SIZE, 0xFFFFFFFEu, 0x00000000u,
                               0x20000F00u };
    for (unsigned i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        h_put16(h_put32(p, addrs[i]), 4);
        CHECK(h_req(T_MEM_READ, s++, p, 6, &r));
        CHECK_EQ(r.p[0], ST_OUT_OF_ARENA);
        CHECK_EQ(r.len, 1);
        h_put32(p, addrs[i]);
        memset(p + 4, 0xAA, 4);
        CHECK(h_req(T_MEM_WRITE, s++, p, 8, &r));
        CHECK_EQ(r.p[0], ST_OUT_OF_ARENA);
    }
    /* the last bytes of the arena are fine */
    h_put16(h_put32(p, FAKE_ARENA_BASE + FAKE_ARENA_SIZE - 4), 4);
    CHECK(h_req(T_MEM_READ, s++, p, 6, &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(fake_mem_writes, 0);
    CHECK_EQ(fake_violations, 0);
}

TEST(refuse_out_of_arena_wraparound_arithmetic)
{
    struct reply r;
    static uint8_t p[1100];
    h_open(1);
    /* addr + len wraps past 2^32 back below the arena end */
    h_put32(p, 0xFFFFFF00u);
    memset(p + 4, 1, 1020);
    CHECK(h_req(T_MEM_WRITE, 2, p, 1024, &r));
    CHECK_EQ(r.p[0], ST_OUT_OF_ARENA);
    h_put16(h_put32(p, 0xFFFFFFF0u), 256);
    CHECK(h_req(T_MEM_READ, 3, p, 6, &r));
    CHECK_EQ(r.p[0], ST_OUT_OF_ARENA);
    CHECK_EQ(fake_mem_writes, 0);
    CHECK_EQ(fake_violations, 0);
}

static uint8_t mem_write(uint16_t seq, uint32_t addr, size_t n)
{
    struct reply r;
    static uint8_t p[1100];
    h_put32(p, addr);
    memset(p + 4, 0x5A, n);
    if (!h_req(T_MEM_WRITE, seq, p, 4 + n, &r))
        return 0xEE;
    return r.p[0];
}

TEST(refuse_busy_mem_write_over_active_channel)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 0, FAKE_ARENA_BASE + 0x100, 64);
    CHECK_EQ(try_start(1, CCR_RX, &r), ST_OK);
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0x100, 1), ST_BUSY);
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0x13F, 1), ST_BUSY);
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0xF0, 0x20), ST_BUSY);
    CHECK_EQ(fake_mem_writes, 0);
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0x140, 16), ST_OK);
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0xF0, 0x10), ST_OK);
    /* half done: CNDTR counts down, the range the DMA works on does not move */
    fake_set(DMA1_CNDTR_ADDR(1), 10);
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0x138, 1), ST_BUSY);
    /* one-shot finished: EN = 1 but CNDTR = 0, writes allowed */
    fake_set(DMA1_CNDTR_ADDR(1), 0);
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0x100, 64), ST_OK);
    /* circular: busy even at CNDTR = 0 */
    fake_set(DMA1_CCR_ADDR(1), CCR_RX | DMA_CCR_CIRC);
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0x100, 1), ST_BUSY);
    /* disabled: allowed */
    CHECK_EQ(h_reg_write(DMA1_CCR_ADDR(1), 0, &r), ST_OK);
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0x100, 64), ST_OK);
}

TEST(refuse_busy_mem_write_over_channel_2)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(2, 1, FAKE_ARENA_BASE + 0x2000, 16);
    CHECK_EQ(try_start(2, CCR_TX | (2u << 10), &r), ST_OK); /* 64 bytes */
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0x203F, 1), ST_BUSY);
    CHECK_EQ(mem_write(h_seq++, FAKE_ARENA_BASE + 0x2040, 1), ST_OK);
}

TEST(refuse_busy_dmamux_change_while_enabled)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 8);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
    CHECK_EQ(h_reg_write(DMAMUX1_CCR_ADDR(0), 50, &r), ST_BUSY);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(fake_get(DMAMUX1_CCR_ADDR(0)), 51);
    /* channel 2's mux is free */
    CHECK_EQ(h_reg_write(DMAMUX1_CCR_ADDR(1), 50, &r), ST_OK);
    /* and after disabling, channel 1's too */
    CHECK_EQ(h_reg_write(DMA1_CCR_ADDR(1), 0, &r), ST_OK);
    CHECK_EQ(h_reg_write(DMAMUX1_CCR_ADDR(0), 50, &r), ST_OK);
}

TEST(refuse_busy_channel_address_while_enabled)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 8);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
    CHECK_EQ(h_reg_write(DMA1_CMAR_ADDR(1), 0x20000000, &r), ST_BUSY);
    CHECK_EQ(h_reg_write(DMA1_CPAR_ADDR(1), USART1_RDR_ADDR, &r), ST_BUSY);
    CHECK_EQ(h_reg_write(DMA1_CNDTR_ADDR(1), 0xFFFF, &r), ST_BUSY);
    CHECK_EQ(fake_get(DMA1_CMAR_ADDR(1)), FAKE_ARENA_BASE);
}

TEST(refuse_masked_write_needs_read_and_write)
{
    struct reply r;
    uint8_t b[16], *q = b;
    h_open(1);
    *q++ = OP_MASKED_WRITE;
    q = h_put32(h_put32(h_put32(q, USART1_RDR_ADDR), 1), 1);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_REG_NOT_ALLOWED);
    q = b + 1;
    q = h_put32(h_put32(h_put32(q, DMA1_IFCR_ADDR), 1), 1);
    CHECK(h_req(T_REG_BATCH, 3, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_REG_NOT_ALLOWED);
    CHECK_EQ(fake_log_len, 0);
}

TEST(dma_rewrite_of_a_running_channel_is_busy_and_keeps_the_protected_range)
{
    struct reply r;
    uint8_t req[8];
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 0, FAKE_ARENA_BASE, 100);
    CHECK_EQ(try_start(1, CCR_RX | DMA_CCR_TCIE, &r), ST_OK);
    fake_set(DMA1_CNDTR_ADDR(1), 10); /* 90 bytes arrived */
    /* a plain rewrite, and a masked write of TCIE only, with EN = 1 */
    CHECK_EQ(try_start(1, CCR_RX, &r), ST_BUSY);
    uint8_t b[16], *q = b;
    *q++ = OP_MASKED_WRITE;
    q = h_put32(h_put32(h_put32(q, DMA1_CCR_ADDR(1)), DMA_CCR_TCIE), 0);
    CHECK(h_req(T_REG_BATCH, h_seq++, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_BUSY);
    CHECK_EQ(fake_get(DMA1_CCR_ADDR(1)), CCR_RX | DMA_CCR_TCIE);
    /* the range recorded at the start still covers the whole buffer */
    h_put32(req, FAKE_ARENA_BASE);
    req[4] = 0xAA;
    CHECK(h_req(T_MEM_WRITE, h_seq++, req, 5, &r));
    CHECK_EQ(r.p[0], ST_BUSY);
    h_put32(req, FAKE_ARENA_BASE + 99);
    CHECK(h_req(T_MEM_WRITE, h_seq++, req, 5, &r));
    CHECK_EQ(r.p[0], ST_BUSY);
    /* disabling is allowed, and then the memory is the host's again */
    CHECK_EQ(try_start(1, DMA_CCR_MINC, &r), ST_OK);
    CHECK(h_req(T_MEM_WRITE, h_seq++, req, 5, &r));
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(dma_busy_range_with_minc_0_is_one_item)
{
    struct reply r;
    uint8_t req[8];
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 0, FAKE_ARENA_BASE + 16, 100);
    CHECK_EQ(try_start(1, DMA_CCR_EN | (2u << 10) | (2u << 8), &r), ST_OK); /* MINC = 0, 32-bit */
    h_put32(req, FAKE_ARENA_BASE + 19);
    req[4] = 1;
    CHECK(h_req(T_MEM_WRITE, h_seq++, req, 5, &r));
    CHECK_EQ(r.p[0], ST_BUSY);
    h_put32(req, FAKE_ARENA_BASE + 20);
    CHECK(h_req(T_MEM_WRITE, h_seq++, req, 5, &r));
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(status_op_is_a_consistent_snapshot_with_pending_completions)
{
    struct reply r;
    uint8_t b[16], *q = b;
    h_open(1);
    h_seq = 2;
    h_setup_channel(2, 0, FAKE_ARENA_BASE, 64);
    uint32_t ccr = CCR_RX | DMA_CCR_CIRC | DMA_CCR_HTIE | DMA_CCR_TCIE;
    CHECK_EQ(try_start(2, ccr, &r), ST_OK);
    ev_post_dma(2, DMA_FLAG_HTIF, 32, ccr); /* reported: one completion */
    bridge_flush_events();
    fake_set(DMA1_CNDTR_ADDR(2), 60);
    /* TC raised (CNDTR reloaded) and not yet handled by its interrupt */
    fake_set(DMA1_ISR_ADDR, DMA_FLAG_TCIF << DMA_ISR_SHIFT(2));
    *q++ = OP_STATUS;
    *q++ = 2;
    *q++ = OP_STATUS;
    *q++ = 3; /* not an exposed channel */
    CHECK(h_req(T_REG_BATCH, h_seq++, b, (size_t)(q - b), &r));
    while (r.type != (T_REG_BATCH | T_REPLY_BIT) && h_next(&r))
        ;
    CHECK_EQ(r.p[0], ST_REG_NOT_ALLOWED);
    CHECK_EQ(r.p[1], 1);     /* executed */
    CHECK_EQ(r.p[2], 4);     /* values */
    CHECK_EQ(h_get32(r.p + 3), ccr);
    CHECK_EQ(h_get32(r.p + 7), 60u | (2u << 16)); /* HT reported + TC pending */
    CHECK_EQ(h_get32(r.p + 11), DMA_FLAG_TCIF | ((uint32_t)ev_starts(2) << 16)); /* its start */
    CHECK_EQ(h_get32(r.p + 15), 0xC0);              /* USART1_ISR */
    CHECK_EQ(h_get32(r.p + 19), 3);                 /* detail: the channel */
    CHECK_EQ(fake_irq_locked, 0);
}

TEST(status_op_counts_toward_the_64_values)
{
    struct reply r;
    uint8_t b[200], *q = b;
    h_open(1);
    for (int i = 0; i < 16; i++) {
        *q++ = OP_STATUS;
        *q++ = 1;
    }
    *q++ = OP_READ;
    q = h_put32(q, USART1_BASE);
    CHECK(h_req(T_REG_BATCH, 2, b, (size_t)(q - b), &r));
    CHECK_EQ(r.p[0], ST_BAD_LENGTH);
    CHECK_EQ(r.p[1], 16);
    CHECK_EQ(r.p[2], 64);
}

TEST(new_session_stops_what_the_last_one_left_running)
{
    struct reply r;
    h_open(1);
    h_seq = 2;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 100);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
    fake_log_clear();
    CHECK(h_req(T_HELLO, 1, 0, 0, &r)); /* a retransmission changes nothing */
    CHECK_EQ(fake_log_find(0, FK_RESET, ~0u), -1);
    CHECK(fake_get(DMA1_CCR_ADDR(1)) & DMA_CCR_EN);
    CHECK(h_req(T_HELLO, 500, 0, 0, &r)); /* a new session */
    CHECK(fake_log_find(0, FK_RESET, ~0u) >= 0);
    CHECK_EQ(fake_get(DMA1_CCR_ADDR(1)), 0);
}

TEST(a_refused_or_busy_start_does_not_count_as_a_start)
{
    struct reply r;
    uint8_t b[4] = { OP_STATUS, 1 };
    h_open(1);
    const uint16_t base = ev_starts(1); /* drawn at boot */
    h_seq = 2;
    h_setup_channel(1, 1, 0x20000000u, 100); /* outside the arena */
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_DMA_START_REFUSED);
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 100);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_OK);
    CHECK_EQ(try_start(1, CCR_TX, &r), ST_BUSY); /* already running */
    CHECK(h_req(T_REG_BATCH, h_seq++, b, 2, &r));
    CHECK_EQ(r.p[0], ST_OK);
    CHECK_EQ(h_get32(r.p + 11) >> 16, (uint16_t)(base + 1u));
}

/* A started channel 1 (memory to peripheral, 16 bytes at the arena). */
static void start_ch1(struct reply *r)
{
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 16);
    h_reg_write(DMA1_CCR_ADDR(1), CCR_TX | DMA_CCR_TCIE, r);
}

TEST(hard_cgif_on_a_running_channel_becomes_the_individual_clear_bits)
{
    /* ES0418: CGIFx in the cycle of a transfer error leaves the channel
     * enabled and TEIF clear; the board never writes CGIF of a running
     * channel */
    struct reply r;
    h_open(1);
    start_ch1(&r);
    CHECK_EQ(r.p[0], ST_OK);
    fake_set(DMA1_ISR_ADDR, 0x3u); /* GIF1 TCIF1 */
    fake_log_clear();
    CHECK_EQ(h_reg_write(DMA1_IFCR_ADDR, 0x1u | (0x1u << 4), &r), ST_OK);
    long w = fake_log_find(0, FK_REG_WRITE, DMA1_IFCR_ADDR);
    CHECK(w >= 0);
    /* channel 1 running: CTCIF1 CHTIF1 CTEIF1; channel 2 off: CGIF2 kept */
    CHECK_EQ(fake_log[w].value, 0xEu | (0x1u << 4));
    CHECK_EQ(fake_get(DMA1_ISR_ADDR) & 0xFu, 0);
    CHECK_EQ(fake_violations, 0);
    /* stopped, CGIF goes through as written */
    CHECK_EQ(h_reg_write(DMA1_CCR_ADDR(1), 0, &r), ST_OK);
    fake_log_clear();
    CHECK_EQ(h_reg_write(DMA1_IFCR_ADDR, 0x1u, &r), ST_OK);
    CHECK_EQ(fake_log[fake_log_find(0, FK_REG_WRITE, DMA1_IFCR_ADDR)].value, 0x1u);
}

TEST(hard_disabling_clears_en_before_the_rest_of_ccr)
{
    struct reply r;
    h_open(1);
    start_ch1(&r);
    uint32_t running = fake_get(DMA1_CCR_ADDR(1));
    fake_log_clear();
    CHECK_EQ(h_reg_write(DMA1_CCR_ADDR(1), 0, &r), ST_OK);
    long a = fake_log_find(0, FK_REG_WRITE, DMA1_CCR_ADDR(1));
    CHECK(a >= 0);
    CHECK_EQ(fake_log[a].value, running & ~DMA_CCR_EN);
    long b = fake_log_find((size_t)a + 1, FK_REG_WRITE, DMA1_CCR_ADDR(1));
    CHECK(b >= 0);
    CHECK_EQ(fake_log[b].value, 0);
    CHECK_EQ(fake_violations, 0);
    /* a plain EN clear is one write */
    start_ch1(&r);
    fake_log_clear();
    struct reply r2;
    uint8_t b2[13], *q = b2;
    *q++ = OP_MASKED_WRITE;
    h_put32(h_put32(h_put32(q, DMA1_CCR_ADDR(1)), DMA_CCR_EN), 0);
    CHECK(h_req(T_REG_BATCH, h_seq++, b2, sizeof b2, &r2));
    CHECK_EQ(r2.p[0], ST_OK);
    CHECK_EQ(fake_log_find((size_t)fake_log_find(0, FK_REG_WRITE, DMA1_CCR_ADDR(1)) + 1, FK_REG_WRITE,
                           DMA1_CCR_ADDR(1)),
             -1);
}

TEST(hard_start_refused_while_teif_is_set)
{
    struct reply r;
    h_open(1);
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 16);
    fake_set(DMA1_ISR_ADDR, 0x9u); /* GIF1 TEIF1 from an earlier transfer */
    fake_log_clear();
    CHECK_EQ(h_reg_write(DMA1_CCR_ADDR(1), CCR_TX, &r), ST_DMA_START_REFUSED);
    CHECK_EQ(r.p[1], DSR_TEIF_SET);
    CHECK_EQ(fake_log_find(0, FK_REG_WRITE, DMA1_CCR_ADDR(1)), -1);
    CHECK_EQ(fake_violations, 0);
    /* cleared, it starts */
    CHECK_EQ(h_reg_write(DMA1_IFCR_ADDR, 0x8u, &r), ST_OK);
    CHECK_EQ(h_reg_write(DMA1_CCR_ADDR(1), CCR_TX, &r), ST_OK);
}

TEST(hard_start_refused_when_en_does_not_set)
{
    struct reply r;
    h_open(1);
    uint8_t st[2] = { OP_STATUS, 1 };
    CHECK(h_req(T_REG_BATCH, h_seq++, st, 2, &r));
    uint32_t starts_before = h_get32(r.p + 3 + 8) >> 16;
    h_setup_channel(1, 1, FAKE_ARENA_BASE, 16);
    fake_en_stuck[0] = true;
    CHECK_EQ(h_reg_write(DMA1_CCR_ADDR(1), CCR_TX, &r), ST_DMA_START_REFUSED);
    CHECK_EQ(r.p[1], DSR_TEIF_SET);
    CHECK(h_req(T_REG_BATCH, h_seq++, st, 2, &r));
    CHECK_EQ(h_get32(r.p + 3 + 8) >> 16, starts_before);
    /* no range is protected for a channel that did not start */
    uint8_t mw[5];
    h_put32(mw, FAKE_ARENA_BASE);
    mw[4] = 1;
    CHECK(h_req(T_MEM_WRITE, h_seq++, mw, 5, &r));
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(hard_dmamux_takes_only_usart1_requests)
{
    struct reply r;
    h_open(1);
    const uint32_t bad[] = { 52, 53, 50u | (1u << 8), 51u | (1u << 9), 1, 73, 0xFF };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(h_reg_write(DMAMUX1_CCR_ADDR(0), bad[i], &r), ST_VALUE_NOT_ALLOWED);
        CHECK_EQ(h_get32(r.p + 1), DMAMUX1_CCR_ADDR(0));
        CHECK_EQ(h_reg_write(DMAMUX1_CCR_ADDR(1), bad[i], &r), ST_VALUE_NOT_ALLOWED);
    }
    CHECK_EQ(fake_reg_writes, 0);
    CHECK_EQ(h_reg_write(DMAMUX1_CCR_ADDR(0), 50, &r), ST_OK);
    CHECK_EQ(h_reg_write(DMAMUX1_CCR_ADDR(1), 51, &r), ST_OK);
    CHECK_EQ(h_reg_write(DMAMUX1_CCR_ADDR(1), 0, &r), ST_OK);
}
