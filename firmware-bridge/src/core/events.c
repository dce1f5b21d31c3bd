#include "events.h"

#include "../stm32g071.h"
#include "le.h"
#include "protocol.h"

/* 8 entries x 18 bytes: a burst of DMA half/complete and USART idle
 * events while the main loop is busy with one command. */
#define EV_QUEUE_LEN 8u

static struct {
    struct event q[EV_QUEUE_LEN];
    volatile uint8_t head; /* written by the producer (interrupts) */
    volatile uint8_t tail; /* written by the consumer (main loop) */
    volatile uint16_t counter; /* next event's counter; counts dropped ones */
    uint32_t dropped;
    /* HT and TC completions of each exposed channel since the write that
     * last enabled it, dropped events included: circular reception counts
     * laps from it even when events are lost (PROTOCOL.md 3) */
    volatile uint16_t completions[2];
    /* starts (EN 0 -> 1) of each exposed channel, counted from a base
     * drawn at boot: every DMA event names the start it belongs to, every
     * USART event the starts of both channels */
    volatile uint16_t starts[2];
} ev;

/* murmur3's 32-bit finaliser: a bijection in which every input bit
 * reaches every output bit, so successive epochs give unrelated values */
static uint32_t hash32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

void ev_init(uint32_t boot_epoch)
{
    ev.head = 0;
    ev.tail = 0;
    ev.counter = 0;
    ev.dropped = 0;
    ev.completions[0] = 0;
    ev.completions[1] = 0;
    /* Start numbers begin at a base that differs at every boot, so a DMA
     * event of an earlier boot, delayed on the line past a reset, does not
     * name a start of this boot (PROTOCOL.md 3). The constant keeps epoch
     * 0 from giving base 0. */
    uint32_t bases = hash32(boot_epoch + 0x9E3779B9u);
    ev.starts[0] = (uint16_t)bases;
    ev.starts[1] = (uint16_t)(bases >> 16);
}

void ev_dma_enabling(uint8_t channel)
{
    if (channel >= 1u && channel <= 2u) {
        ev.completions[channel - 1u] = 0;
        ev.starts[channel - 1u] = (uint16_t)(ev.starts[channel - 1u] + 1u);
    }
}

struct ev_channel_counts ev_channel_counts(uint8_t channel)
{
    struct ev_channel_counts c = { 0, 0 };
    if (channel >= 1u && channel <= 2u) {
        c.completions = ev.completions[channel - 1u];
        c.starts = ev.starts[channel - 1u];
    }
    return c;
}

void ev_channel_counts_restore(uint8_t channel, struct ev_channel_counts counts)
{
    if (channel >= 1u && channel <= 2u) {
        ev.completions[channel - 1u] = counts.completions;
        ev.starts[channel - 1u] = counts.starts;
    }
}

uint16_t ev_completions(uint8_t channel)
{
    return channel >= 1u && channel <= 2u ? ev.completions[channel - 1u] : 0u;
}

uint16_t ev_starts(uint8_t channel)
{
    return channel >= 1u && channel <= 2u ? ev.starts[channel - 1u] : 0u;
}

static struct event *ev_begin(uint8_t type, uint8_t len)
{
    uint16_t counter = ev.counter;
    ev.counter = (uint16_t)(counter + 1u); /* a dropped event still uses its number */
    uint8_t head = ev.head;
    if ((uint8_t)(head - ev.tail) >= EV_QUEUE_LEN) {
        ev.dropped++;
        return 0;
    }
    struct event *e = &ev.q[head % EV_QUEUE_LEN];
    e->type = type;
    e->len = len;
    e->counter = counter;
    return e;
}

static void ev_commit(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* entry before head */
    ev.head = (uint8_t)(ev.head + 1u);
}

void ev_post_boot(uint32_t boot_epoch)
{
    struct event *e = ev_begin(T_EV_BOOT, 7);
    if (!e)
        return;
    uint8_t *p = le_put32(e->payload, boot_epoch);
    p[0] = FW_VERSION_MAJOR;
    p[1] = FW_VERSION_MINOR;
    p[2] = FW_VERSION_PATCH;
    ev_commit();
}

void ev_post_dma(uint8_t channel, uint8_t flags, uint16_t cndtr, uint32_t ccr)
{
    uint16_t completions = 0, starts = 0;
    if (channel >= 1u && channel <= 2u) {
        starts = ev.starts[channel - 1u];
        /* counted before the queue check: a dropped event still counts */
        completions = ev.completions[channel - 1u];
        completions = (uint16_t)(completions + ((flags & DMA_FLAG_HTIF) ? 1u : 0u) +
                                 ((flags & DMA_FLAG_TCIF) ? 1u : 0u));
        ev.completions[channel - 1u] = completions;
    }
    struct event *e = ev_begin(T_EV_DMA, 12);
    if (!e)
        return;
    e->payload[0] = channel;
    e->payload[1] = flags;
    le_put16(le_put16(le_put32(le_put16(e->payload + 2, cndtr), ccr), completions), starts);
    ev_commit();
}

void ev_post_usart(uint8_t flags, uint32_t isr, uint16_t cndtr1, uint16_t cndtr2)
{
    /* Posted at the DMA handlers' priority, and a start counts itself with
     * interrupts masked: these are the transfers running when the flags
     * were read (a flag of an earlier one names its start, however late it
     * reaches the host). */
    uint16_t starts1 = ev.starts[0], starts2 = ev.starts[1];
    struct event *e = ev_begin(T_EV_USART, 13);
    if (!e)
        return;
    e->payload[0] = flags;
    le_put16(le_put16(le_put16(le_put16(le_put32(e->payload + 1, isr), cndtr1), cndtr2), starts1), starts2);
    ev_commit();
}

bool ev_pending(void)
{
    return ev.head != ev.tail;
}

const struct event *ev_peek(void)
{
    if (ev.head == ev.tail)
        return 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* head before entry */
    return &ev.q[ev.tail % EV_QUEUE_LEN];
}

void ev_pop(void)
{
    if (ev.head != ev.tail)
        ev.tail = (uint8_t)(ev.tail + 1u);
}

uint16_t ev_mark(void)
{
    return ev.head != ev.tail ? ev.q[ev.tail % EV_QUEUE_LEN].counter : ev.counter;
}

uint32_t ev_dropped(void)
{
    return ev.dropped;
}
