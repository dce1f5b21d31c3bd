#include "frame_rx.h"

#include <stdbool.h>
#include <stddef.h>

#include "../platform.h"
#include "cobs.h"
#include "crc16.h"
#include "frame_tx.h"
#include "protocol.h"
#include "session.h"

/* The deframer decodes COBS on the fly, so it keeps the decoded body
 * (at most MAX_BODY = 1030 bytes), not the encoded frame. */
static struct {
    uint8_t body[MAX_BODY];
    size_t len;           /* decoded bytes kept */
    size_t encoded;       /* encoded bytes seen since the last delimiter */
    bool too_large;
    cobs_dec_t dec;
} rx;

static void rx_reset(void)
{
    rx.len = 0;
    rx.encoded = 0;
    rx.too_large = false;
    cobs_dec_reset(&rx.dec);
}

/* The seq of a damaged frame, when at least its header decoded: a hint */
static uint16_t seq_hint(void)
{
    return rx.len >= 4 ? (uint16_t)(rx.body[2] | (rx.body[3] << 8)) : 0;
}

void frame_rx_init(void)
{
    rx_reset();
}

void frame_rx_discard(void)
{
    if (rx.encoded != 0)
        plat_link_frame_dropped();
    rx_reset();
}

/* A refused frame: NAKed and counted (BOARD_STATUS linkFramesDropped). */
static void refuse(uint8_t status)
{
    plat_link_frame_dropped();
    frame_send_nak(seq_hint(), status);
}


static void frame_end(void)
{
    if (rx.encoded == 0)
        return; /* empty frame: line flush, PROTOCOL.md 1 */
    if (rx.too_large) {
        refuse(ST_TOO_LARGE);
        return;
    }
    if (!cobs_dec_complete(&rx.dec) || rx.len < FRAME_OVERHEAD) {
        refuse(ST_BAD_FRAME);
        return;
    }
    size_t n = rx.len - 2u;
    uint16_t crc = (uint16_t)(rx.body[n] | (rx.body[n + 1u] << 8));
    if (crc16_update(CRC16_INIT, rx.body, n) != crc) {
        refuse(ST_BAD_CRC);
        return;
    }
    /* a frame that decodes with a good CRC proves the line's rate */
    plat_link_frame_ok();
    if (rx.body[0] != PROTO_VERSION) {
        refuse(ST_BAD_VERSION);
        return;
    }
    uint8_t type = rx.body[1];
    if (type == 0u || type > REQUEST_TYPE_MAX) {
        /* an event or reply type: answering it would make a reply whose
         * type is ambiguous, so it is refused before the session sees it */
        refuse(ST_UNKNOWN_COMMAND);
        return;
    }
    session_on_request(type, seq_hint(), rx.body + 4, n - 4u);
}

void frame_rx_bytes(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        frame_rx_byte(p[i]);
}

void frame_rx_byte(uint8_t b)
{
    if (b == 0) {
        frame_end();
        rx_reset();
        return;
    }
    if (++rx.encoded > MAX_ENCODED)
        rx.too_large = true; /* keep counting: discard up to the next 0x00 */
    uint8_t out[2];
    size_t k = cobs_dec_push(&rx.dec, b, out);
    for (size_t i = 0; i < k; i++) {
        if (rx.len < MAX_BODY)
            rx.body[rx.len++] = out[i];
        else
            rx.too_large = true;
    }
}
