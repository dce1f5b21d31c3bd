#include "helpers.h"

#include <string.h>

#include "../src/core/bridge.h"
#include "../src/core/cobs.h"
#include "../src/core/crc16.h"

static size_t rd; /* read cursor in fake_tx */
uint16_t h_seq;

void h_reset(void)
{
    fake_reset();
    bridge_init();
    bridge_flush_events();
    fake_tx_len = 0;
    rd = 0;
    fake_log_clear();
}

void h_open(uint16_t seq)
{
    struct reply r;
    h_reset();
    h_req(T_HELLO, seq, 0, 0, &r);
    h_seq = (uint16_t)(seq + 1u);
    fake_log_clear();
}

size_t h_frame(uint8_t version, uint8_t type, uint16_t seq, const uint8_t *payload, size_t n,
               uint8_t *out)
{
    static uint8_t body[4096];
    body[0] = version;
    body[1] = type;
    body[2] = (uint8_t)seq;
    body[3] = (uint8_t)(seq >> 8);
    if (n)
        memcpy(body + 4, payload, n);
    uint16_t crc = crc16_update(CRC16_INIT, body, 4 + n);
    body[4 + n] = (uint8_t)crc;
    body[5 + n] = (uint8_t)(crc >> 8);
    size_t k = cobs_encode(body, n + 6, out);
    out[k] = 0;
    return k + 1;
}

void h_feed(const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bridge_rx_byte(bytes[i]);
}

void h_send(uint8_t type, uint16_t seq, const uint8_t *payload, size_t n)
{
    static uint8_t wire[4200];
    h_feed(wire, h_frame(PROTO_VERSION, type, seq, payload, n, wire));
}

void h_rewind(void)
{
    rd = 0;
}

int h_pending(void)
{
    int n = 0;
    for (size_t i = rd; i < fake_tx_len; i++)
        n += fake_tx[i] == 0;
    return n;
}

int h_next(struct reply *r)
{
    size_t end = rd;
    while (end < fake_tx_len && fake_tx[end] != 0)
        end++;
    if (end >= fake_tx_len)
        return 0;
    uint8_t body[2100];
    long n = cobs_decode(fake_tx + rd, end - rd, body, sizeof body);
    rd = end + 1;
    if (n < 6)
        return 0;
    uint16_t crc = (uint16_t)(body[n - 2] | (body[n - 1] << 8));
    if (crc16_update(CRC16_INIT, body, (size_t)n - 2) != crc || body[0] != PROTO_VERSION)
        return 0;
    r->type = body[1];
    r->seq = (uint16_t)(body[2] | (body[3] << 8));
    size_t head = 4;
    r->mark = 0;
    if (r->type & T_REPLY_BIT) {
        if (n < 8)
            return 0;
        r->mark = (uint16_t)(body[4] | (body[5] << 8));
        head = 6;
    }
    r->len = (size_t)n - head - 2;
    memcpy(r->p, body + head, r->len);
    return 1;
}

int h_req(uint8_t type, uint16_t seq, const uint8_t *payload, size_t n, struct reply *r)
{
    h_send(type, seq, payload, n);
    return h_next(r);
}

uint32_t h_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint16_t h_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

uint8_t *h_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return p + 4;
}

uint8_t *h_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

uint8_t h_reg_write(uint32_t addr, uint32_t value, struct reply *r)
{
    uint8_t req[8];
    h_put32(h_put32(req, addr), value);
    if (!h_req(T_REG_WRITE, h_seq++, req, 8, r))
        return 0xEE;
    return r->p[0];
}

uint8_t h_reg_read(uint32_t addr, uint32_t *value, struct reply *r)
{
    uint8_t req[4];
    h_put32(req, addr);
    if (!h_req(T_REG_READ, h_seq++, req, 4, r))
        return 0xEE;
    if (r->p[0] == ST_OK && r->len == 5)
        *value = h_get32(r->p + 1);
    return r->p[0];
}

void h_setup_channel(unsigned ch, int to_periph, uint32_t cmar, uint32_t cndtr)
{
    fake_set(DMA1_CMAR_ADDR(ch), cmar);
    fake_set(DMA1_CNDTR_ADDR(ch), cndtr);
    fake_set(DMA1_CPAR_ADDR(ch), to_periph ? USART1_TDR_ADDR : USART1_RDR_ADDR);
    fake_set(DMAMUX1_CCR_ADDR(ch - 1), to_periph ? 51 : 50);
}
