#include "frame_tx.h"

#include "../platform.h"
#include "cobs.h"
#include "crc16.h"
#include "protocol.h"

static void put_tx(void *ctx, uint8_t b)
{
    (void)ctx;
    plat_tx_put(b);
}

/* header | middle (the mark, or nothing) | payload | crc, COBS-encoded */
static void send(uint8_t type, uint16_t seq, const uint8_t *mark, size_t mark_len,
                 const uint8_t *payload, size_t len)
{
    uint8_t head[4 + EVENT_MARK_LEN] = { PROTO_VERSION, type, (uint8_t)seq, (uint8_t)(seq >> 8) };
    for (size_t i = 0; i < mark_len; i++)
        head[4 + i] = mark[i];
    size_t head_len = 4u + mark_len;
    uint16_t crc = crc16_update(crc16_update(CRC16_INIT, head, head_len), payload, len);
    uint8_t tail[2] = { (uint8_t)crc, (uint8_t)(crc >> 8) };
    size_t body = head_len + len + 2u;
    plat_tx_reserve(COBS_MAX_ENCODED(body) + 1u);
    cobs_segs_t s = { { head, payload, tail }, { head_len, len, 2 } };
    cobs_encode_segs(&s, put_tx, 0);
    plat_tx_put(0);
    plat_tx_commit();
}

void frame_send_reply(uint8_t type, uint16_t seq, uint16_t mark, const uint8_t *payload, size_t len)
{
    uint8_t m[EVENT_MARK_LEN] = { (uint8_t)mark, (uint8_t)(mark >> 8) };
    send(type, seq, m, sizeof m, payload, len);
}

uint16_t frame_mark_now(void)
{
    uint32_t key = plat_irq_lock();
    uint16_t mark = ev_mark();
    plat_irq_unlock(key);
    return mark;
}

void frame_send_nak(uint16_t seq_hint, uint8_t status)
{
    frame_send_reply(T_NAK, seq_hint, frame_mark_now(), &status, 1);
}

void frame_send_event(const struct event *e)
{
    send(e->type, e->counter, 0, 0, e->payload, e->len);
}
