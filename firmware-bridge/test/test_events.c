/* Events (PROTOCOL.md 3): layout, counter, drops. */
#include "../src/core/bridge.h"
#include "helpers.h"
#include "runner.h"

TEST(events_boot_first_with_counter_0)
{
    struct reply r;
    fake_reset();
    bridge_init();
    bridge_flush_events();
    h_rewind();
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_EV_BOOT);
    CHECK_EQ(r.seq, 0);
    CHECK_EQ(r.len, 7);
    CHECK_EQ(h_get32(r.p), FAKE_BOOT_EPOCH);
    CHECK(r.p[4] == FW_VERSION_MAJOR && r.p[5] == FW_VERSION_MINOR && r.p[6] == FW_VERSION_PATCH);
    CHECK(!h_next(&r));
}

TEST(events_layouts_and_counter)
{
    struct reply r;
    h_open(1);
    ev_post_dma(1, DMA_FLAG_TCIF, 0, 0x93);
    ev_post_usart(USART_ISR_IDLE, 0xD0, 12, 34);
    bridge_flush_events();
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_EV_DMA);
    CHECK_EQ(r.seq, 1);
    CHECK_EQ(r.len, 12);
    CHECK(r.p[0] == 1 && r.p[1] == 2);
    CHECK_EQ(h_get16(r.p + 2), 0);
    CHECK_EQ(h_get32(r.p + 4), 0x93);
    CHECK_EQ(h_get16(r.p + 8), 1); /* one completion (TC) since enabling */
    CHECK_EQ(h_get16(r.p + 10), ev_starts(1)); /* the channel was never started */
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_EV_USART);
    CHECK_EQ(r.seq, 2);
    CHECK_EQ(r.len, 13);
    CHECK_EQ(r.p[0], 0x10);
    CHECK_EQ(h_get32(r.p + 1), 0xD0);
    CHECK_EQ(h_get16(r.p + 5), 12);
    CHECK_EQ(h_get16(r.p + 7), 34);
    CHECK_EQ(h_get16(r.p + 9), ev_starts(1));
    CHECK_EQ(h_get16(r.p + 11), ev_starts(2));
}

TEST(events_wait_for_transmit_room_instead_of_being_dropped)
{
    struct reply r;
    h_open(1);
    fake_tx_room = 0; /* the transmit queue is full of replies */
    ev_post_dma(2, DMA_FLAG_HTIF, 5, 0x21);
    bridge_flush_events();
    CHECK_EQ(fake_tx_waits, 1);
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_EV_DMA);
    CHECK_EQ(r.seq, 1);
    CHECK_EQ(h_get16(r.p + 8), 1);
}

TEST(events_completions_count_ht_and_tc_per_channel_and_restart_at_enabling)
{
    struct reply r;
    h_open(1);
    ev_post_dma(1, DMA_FLAG_HTIF, 8, 0);
    ev_post_dma(1, DMA_FLAG_TCIF, 16, 0);
    ev_post_dma(2, DMA_FLAG_HTIF | DMA_FLAG_TCIF, 16, 0); /* coalesced: two */
    ev_post_dma(1, DMA_FLAG_TEIF, 3, 0);                  /* an error is no completion */
    ev_dma_enabling(1);
    ev_post_dma(1, DMA_FLAG_HTIF, 8, 0);
    bridge_flush_events();
    const uint16_t want[] = { 1, 2, 2, 2, 1 };
    for (int i = 0; i < 5; i++) {
        CHECK(h_next(&r));
        CHECK_EQ(h_get16(r.p + 8), want[i]);
    }
}

TEST(events_queue_overflow_drops_newest)
{
    struct reply r;
    h_open(1);
    for (int i = 0; i < 12; i++)
        ev_post_dma(1, DMA_FLAG_HTIF, (uint16_t)i, 0);
    bridge_flush_events();
    int n = 0;
    uint16_t last = 0;
    while (h_next(&r)) {
        n++;
        last = r.seq;
    }
    CHECK_EQ(n, 8);
    CHECK_EQ(last, 8);
    ev_post_dma(1, DMA_FLAG_TCIF, 0, 0);
    bridge_flush_events();
    CHECK(h_next(&r));
    CHECK_EQ(r.seq, 13);
}

TEST(events_replies_never_dropped)
{
    struct reply r;
    h_open(1);
    fake_tx_room = 0;
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    CHECK_EQ(r.p[0], ST_OK);
}

TEST(events_mark_counts_events_sent_before_a_reply)
{
    struct reply r;
    h_open(1); /* BOOT (counter 0) was sent before the HELLO reply */
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    CHECK_EQ(r.mark, 1);
    ev_post_dma(1, DMA_FLAG_TCIF, 0, 0); /* counter 1, sent before the next reply */
    bridge_flush_events();
    CHECK(h_next(&r));
    CHECK(h_req(T_PING, 3, 0, 0, &r));
    CHECK_EQ(r.mark, 2);
    /* an event still queued when a reply goes out is sent after it: the
     * mark stops below it */
    ev_post_usart(USART_ISR_TC, 0xC0, 0, 0); /* counter 2 */
    CHECK(h_req(T_PING, 4, 0, 0, &r));
    CHECK_EQ(r.mark, 2);
    bridge_flush_events();
    CHECK(h_next(&r));
    CHECK_EQ(r.seq, 2);
    /* a dropped event still moves the mark: the host learns of it */
    for (int i = 0; i < 9; i++)
        ev_post_dma(1, DMA_FLAG_HTIF, 0, 0); /* counters 3..11; 11 is dropped */
    bridge_flush_events();
    while (h_next(&r))
        ;
    CHECK(h_req(T_PING, 5, 0, 0, &r));
    CHECK_EQ(r.mark, 12);
    CHECK_EQ(ev_dropped(), 1);
}

TEST(events_resent_reply_keeps_its_first_mark)
{
    struct reply r;
    h_open(1);
    CHECK(h_req(T_PING, 2, 0, 0, &r));
    uint16_t first = r.mark;
    ev_post_dma(1, DMA_FLAG_TCIF, 0, 0);
    bridge_flush_events();
    CHECK(h_next(&r));
    CHECK(h_req(T_PING, 2, 0, 0, &r)); /* a retransmission: the cached reply */
    CHECK_EQ(r.type, T_PING | T_REPLY_BIT);
    CHECK_EQ(r.mark, first);
    CHECK(h_req(T_PING, 3, 0, 0, &r));
    CHECK_EQ(r.mark, (uint16_t)(first + 1u));
}

TEST(events_nak_carries_the_mark)
{
    struct reply r;
    h_open(1);
    ev_post_dma(1, DMA_FLAG_TCIF, 0, 0);
    bridge_flush_events();
    CHECK(h_next(&r));
    uint8_t junk[] = { 0x05, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x00 }; /* bad CRC */
    h_feed(junk, sizeof junk);
    CHECK(h_next(&r));
    CHECK_EQ(r.type, T_NAK);
    CHECK_EQ(r.mark, 2);
}

TEST(events_name_the_start_they_belong_to)
{
    struct reply r;
    h_open(1);
    const uint16_t base1 = ev_starts(1), base2 = ev_starts(2);
    ev_post_dma(1, DMA_FLAG_TCIF, 0, 0); /* before any start */
    ev_dma_enabling(1);
    ev_post_dma(1, DMA_FLAG_TCIF, 0, 0);
    ev_dma_enabling(1);
    ev_dma_enabling(2);
    ev_post_dma(1, DMA_FLAG_TCIF, 0, 0);
    ev_post_dma(2, DMA_FLAG_TCIF, 0, 0);
    bridge_flush_events();
    const uint16_t want[] = { base1, (uint16_t)(base1 + 1u), (uint16_t)(base1 + 2u),
                              (uint16_t)(base2 + 1u) };
    for (int i = 0; i < 4; i++) {
        CHECK(h_next(&r));
        CHECK_EQ(h_get16(r.p + 10), want[i]);
    }
}

TEST(usart_events_name_the_starts_running_when_they_were_raised)
{
    /* A USART flag (TC of a write, an error of a reception) belongs to the
     * transfers running when its interrupt ran: a TC of an earlier write
     * that reaches the host late must not end a later write's wait. */
    struct reply r;
    h_open(1);
    const uint16_t base1 = ev_starts(1), base2 = ev_starts(2);
    ev_post_usart(USART_ISR_TC, 0xC0, 0, 0);
    ev_dma_enabling(1);
    ev_post_usart(USART_ISR_TC, 0xC0, 0, 0);
    ev_dma_enabling(2);
    ev_dma_enabling(2);
    ev_post_usart(USART_ISR_ORE, 0xC8, 0, 7);
    ev_dma_enabling(1); /* a start after the event changes nothing in it */
    bridge_flush_events();
    const uint16_t want[3][2] = { { base1, base2 },
                                  { (uint16_t)(base1 + 1u), base2 },
                                  { (uint16_t)(base1 + 1u), (uint16_t)(base2 + 2u) } };
    for (int i = 0; i < 3; i++) {
        CHECK(h_next(&r));
        CHECK_EQ(r.type, T_EV_USART);
        CHECK_EQ(r.len, 13);
        CHECK_EQ(h_get16(r.p + 9), want[i][0]);
        CHECK_EQ(h_get16(r.p + 11), want[i][1]);
    }
    CHECK_EQ(h_get16(r.p + 7), 7); /* the fields before the starts are where they were */
}

/* The start of `channel`'s next transfer, on a board that booted with `epoch`. */
static uint16_t first_start_after_boot(uint32_t epoch, uint8_t channel)
{
    fake_reset();
    fake_boot_epoch = epoch;
    bridge_init();
    ev_dma_enabling(channel);
    return ev_starts(channel);
}

TEST(start_numbers_begin_at_a_base_that_differs_at_every_boot)
{
    /* A DMA event of an earlier boot, delayed past a reset, must not name
     * a start of the new boot: successive epochs (a reset increments it)
     * and epoch 0 give unrelated first starts on both channels. */
    uint16_t seen[2][64];
    for (uint32_t i = 0; i < 64; i++) {
        for (uint8_t ch = 1; ch <= 2; ch++) {
            uint16_t s = first_start_after_boot(FAKE_BOOT_EPOCH + i, ch);
            seen[ch - 1u][i] = s;
            for (uint32_t j = 0; j < i; j++)
                CHECK(seen[ch - 1u][j] != s);
        }
        CHECK(seen[0][i] != seen[1][i]);
    }
    CHECK(first_start_after_boot(0, 1) != 1u);
    CHECK(first_start_after_boot(0, 2) != 1u);
    /* the same boot epoch gives the same numbers: nothing else feeds them */
    CHECK_EQ(first_start_after_boot(FAKE_BOOT_EPOCH, 1), seen[0][0]);
}

TEST(a_new_session_keeps_counting_starts)
{
    /* HELLO stops the channels but is no reset: start numbers go on, so an
     * event of the previous session's transfer never names the next one. */
    h_open(1);
    ev_dma_enabling(1);
    uint16_t before = ev_starts(1);
    struct reply r;
    h_req(T_HELLO, 100, 0, 0, &r);
    CHECK_EQ(ev_starts(1), before);
    ev_dma_enabling(1);
    CHECK_EQ(ev_starts(1), (uint16_t)(before + 1u));
}
