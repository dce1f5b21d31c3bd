#include "session.h"

#include <stdbool.h>

#include "dispatch.h"
#include "frame_tx.h"
#include "protocol.h"

struct cached_reply {
    uint16_t seq;
    uint8_t type;
    uint8_t valid;
    uint16_t len;
    /* the event mark when the reply was first sent: a resend carries it
     * too, so the host can tell the request's own events from older ones
     * (PROTOCOL.md 3) */
    uint16_t mark;
    uint8_t payload[MAX_REPLY_PAYLOAD];
};

static struct {
    bool open;
    uint16_t hello_seq;
    uint16_t expected;
    uint32_t boot_epoch;
    unsigned next;                 /* cache slot the next reply goes to */
    struct cached_reply cache[SESSION_WINDOW];
} ses;

static void cache_clear(void)
{
    for (unsigned i = 0; i < SESSION_WINDOW; i++)
        ses.cache[i].valid = 0;
    ses.next = 0;
}

void session_init(uint32_t boot_epoch)
{
    ses.open = false;
    ses.hello_seq = 0;
    ses.expected = 0;
    ses.boot_epoch = boot_epoch;
    cache_clear();
}

/* A refusal or a HELLO answer: not cached, the mark is taken now. */
static void send_reply(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len)
{
    frame_send_reply((uint8_t)(type | T_REPLY_BIT), seq, frame_mark_now(), payload, len);
}

static void on_hello(uint16_t seq, size_t len)
{
    uint8_t rep[HELLO_REPLY_MAX];
    if (len != 0) {
        rep[0] = ST_BAD_LENGTH;
        send_reply(T_HELLO, seq, rep, 1);
        return;
    }
    /* a retransmitted HELLO is answered again and changes nothing */
    if (!ses.open || seq != ses.hello_seq) {
        ses.open = true;
        ses.hello_seq = seq;
        ses.expected = (uint16_t)(seq + 1u);
        cache_clear();
        /* a new session starts from a known state: whatever an earlier
         * session left running is stopped (PROTOCOL.md 4) */
        dispatch_new_session();
    }
    send_reply(T_HELLO, seq, rep, dispatch_hello(rep));
}

void session_on_request(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len)
{
    uint8_t rep[5];

    if (type == T_HELLO) {
        on_hello(seq, len);
        return;
    }
    /* session refusals have the plain layout whatever the request type */
    if (!ses.open) {
        rep[0] = ST_NO_SESSION;
        rep[1] = (uint8_t)ses.boot_epoch;
        rep[2] = (uint8_t)(ses.boot_epoch >> 8);
        rep[3] = (uint8_t)(ses.boot_epoch >> 16);
        rep[4] = (uint8_t)(ses.boot_epoch >> 24);
        send_reply(type, seq, rep, 5);
        return;
    }
    uint16_t d = (uint16_t)(seq - ses.expected);
    if (d == 0) {
        struct cached_reply *c = &ses.cache[ses.next];
        ses.next = (ses.next + 1u) % SESSION_WINDOW;
        c->len = (uint16_t)dispatch_request(type, payload, len, c->payload);
        c->seq = seq;
        c->type = (uint8_t)(type | T_REPLY_BIT);
        c->mark = frame_mark_now();
        c->valid = 1;
        ses.expected++;
        frame_send_reply(c->type, c->seq, c->mark, c->payload, c->len);
        return;
    }
    if (d < 0x8000u) {
        rep[0] = ST_SEQ_GAP;
        rep[1] = (uint8_t)ses.expected;
        rep[2] = (uint8_t)(ses.expected >> 8);
        send_reply(type, seq, rep, 3);
        return;
    }
    for (unsigned i = 0; i < SESSION_WINDOW; i++) {
        const struct cached_reply *c = &ses.cache[i];
        if (c->valid && c->seq == seq) {
            frame_send_reply(c->type, c->seq, c->mark, c->payload, c->len);
            return;
        }
    }
    rep[0] = ST_STALE;
    send_reply(type, seq, rep, 1);
}
