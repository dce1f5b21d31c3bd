#include "dispatch.h"

#include "../platform.h"
#include "events.h"
#include "le.h"
#include "policy.h"
#include "protocol.h"

static size_t status_only(uint8_t *rep, uint8_t st)
{
    rep[0] = st;
    return 1;
}

/* status followed by the detail section 5 gives it */
static size_t refusal(uint8_t *rep, uint8_t st, uint32_t detail)
{
    rep[0] = st;
    switch (st) {
    case ST_REG_NOT_ALLOWED:
    case ST_VALUE_NOT_ALLOWED:
    case ST_POLL_TIMEOUT:
        le_put32(rep + 1, detail);
        return 5;
    case ST_DMA_START_REFUSED:
        rep[1] = (uint8_t)detail;
        return 2;
    default:
        return 1;
    }
}

void dispatch_new_session(void)
{
    plat_reset_peripherals();
    policy_reset();
}

size_t dispatch_hello(uint8_t *rep)
{
    struct plat_info info;
    plat_hello_info(&info);
    uint8_t *p = rep;
    *p++ = ST_OK;
    *p++ = PROTO_VERSION;
    *p++ = FW_VERSION_MAJOR;
    *p++ = FW_VERSION_MINOR;
    *p++ = FW_VERSION_PATCH;
    p = le_put16(p, info.dev_id);
    p = le_put16(p, info.rev_id);
    for (int i = 0; i < 12; i++)
        *p++ = info.uid[i];
    p = le_put32(p, info.arena_base);
    p = le_put32(p, info.arena_size);
    p = le_put16(p, MAX_REQUEST_PAYLOAD);
    p = le_put16(p, MAX_REPLY_PAYLOAD);
    *p++ = SESSION_WINDOW;
    p = le_put32(p, CAP_DMA_CH1 | CAP_DMA_CH2 | CAP_BATCH_POLL | CAP_EVENTS | CAP_SET_LINK_BAUD |
                       CAP_BOARD_STATUS);
    p = le_put32(p, info.boot_epoch);
    p = le_put32(p, info.usart1_clock_hz);
    p = le_put32(p, info.link_baud);
    p = le_put16(p, info.rx_buffer);
    p = le_put32(p, info.boot_link_baud);
    uint8_t n = info.rate_count <= MAX_LINK_RATES ? info.rate_count : (uint8_t)MAX_LINK_RATES;
    *p++ = n;
    for (uint8_t i = 0; i < n; i++)
        p = le_put32(p, info.rates[i]);
    return (size_t)(p - rep);
}

/* SET_LINK_BAUD (PROTOCOL.md 2): one of the board's rates, switched to
 * after this reply has left. */
static size_t cmd_set_link_baud(const uint8_t *req, size_t n, uint8_t *rep)
{
    if (n != 4)
        return status_only(rep, ST_BAD_LENGTH);
    uint32_t baud = le_get32(req);
    struct plat_info info;
    plat_hello_info(&info);
    for (uint8_t i = 0; i < info.rate_count; i++) {
        if (info.rates[i] == baud) {
            plat_link_switch(baud);
            return status_only(rep, ST_OK);
        }
    }
    return refusal(rep, ST_VALUE_NOT_ALLOWED, baud);
}

static size_t cmd_ping(const uint8_t *req, size_t n, uint8_t *rep)
{
    if (n > MAX_PING)
        return status_only(rep, ST_BAD_LENGTH);
    rep[0] = ST_OK;
    for (size_t i = 0; i < n; i++)
        rep[1 + i] = req[i];
    return 1 + n;
}

static size_t cmd_reg_read(const uint8_t *req, size_t n, uint8_t *rep)
{
    uint32_t value = 0, detail = 0;
    if (n != 4)
        return status_only(rep, ST_BAD_LENGTH);
    uint8_t st = policy_reg_read(le_get32(req), &value, &detail);
    if (st != ST_OK)
        return refusal(rep, st, detail);
    rep[0] = ST_OK;
    le_put32(rep + 1, value);
    return 5;
}

static size_t cmd_reg_write(const uint8_t *req, size_t n, uint8_t *rep)
{
    uint32_t detail = 0;
    if (n != 8)
        return status_only(rep, ST_BAD_LENGTH);
    uint8_t st = policy_reg_write(le_get32(req), le_get32(req + 4), &detail);
    return refusal(rep, st, detail);
}

/* A POLL that never sees its clock move still ends: at most 64 reads per
 * microsecond of timeout, more than a 64 MHz core can do. */
#define POLL_MAX_READS_PER_US 64u

/* One POLL, waiting at most its own timeout and at most what is left of
 * the batch's POLL budget (*budget_us, which the time spent comes off): a
 * batch of 68 POLLs of 65 ms each would otherwise hold the main loop, and
 * every other request, for 4.4 s. */
static uint8_t batch_poll(uint32_t addr, uint32_t mask, uint32_t match, uint16_t timeout_us,
                          uint32_t *budget_us, uint32_t *detail)
{
    uint32_t limit = timeout_us < *budget_us ? timeout_us : *budget_us;
    uint32_t start = plat_micros();
    uint32_t cap = (limit + 1u) * POLL_MAX_READS_PER_US;
    uint32_t value = 0;
    uint8_t st;
    for (uint32_t reads = 0;; reads++) {
        st = policy_reg_read(addr, &value, detail);
        if (st != ST_OK || (value & mask) == match)
            break;
        if ((uint32_t)(plat_micros() - start) >= limit || reads >= cap) {
            *detail = value;
            st = ST_POLL_TIMEOUT;
            break;
        }
    }
    uint32_t spent = (uint32_t)(plat_micros() - start);
    *budget_us -= spent < *budget_us ? spent : *budget_us;
    return st;
}

/* REG_BATCH (PROTOCOL.md 2): ops in order, stop at the first failure.
 * reply: status | executed | count | values u32 x count | detail */
static size_t cmd_reg_batch(const uint8_t *req, size_t n, uint8_t *rep)
{
    /* bytes after the op code; STATUS has a channel byte, not an address */
    static const uint8_t op_len[6] = { 0, 4, 8, 12, 14, 1 };
    /* values each op appends to the reply */
    static const uint8_t op_values[6] = { 0, 1, 0, 0, 0, STATUS_VALUES };
    uint8_t *values = rep + 3;
    unsigned executed = 0, count = 0;
    uint8_t st = ST_OK;
    uint32_t detail = 0;
    uint32_t poll_budget_us = BATCH_POLL_BUDGET_US;
    size_t i = 0;

    while (i < n) {
        uint8_t op = req[i];
        if (op < OP_READ || op > OP_STATUS || n - i - 1u < op_len[op] ||
            count + op_values[op] > MAX_BATCH_READS) {
            st = ST_BAD_LENGTH;
            break;
        }
        const uint8_t *f = req + i + 1;
        uint32_t addr = op == OP_STATUS ? 0u : le_get32(f);
        switch (op) {
        case OP_READ: {
            uint32_t v = 0;
            st = policy_reg_read(addr, &v, &detail);
            if (st == ST_OK)
                le_put32(values + 4u * count++, v);
            break;
        }
        case OP_WRITE:
            st = policy_reg_write(addr, le_get32(f + 4), &detail);
            break;
        case OP_MASKED_WRITE:
            st = policy_reg_masked_write(addr, le_get32(f + 4), le_get32(f + 8), &detail);
            break;
        case OP_POLL:
            st = batch_poll(addr, le_get32(f + 4), le_get32(f + 8), le_get16(f + 12), &poll_budget_us,
                            &detail);
            break;
        default: { /* OP_STATUS */
            uint32_t v[STATUS_VALUES];
            st = policy_channel_status(f[0], v, &detail);
            for (unsigned k = 0; st == ST_OK && k < STATUS_VALUES; k++)
                le_put32(values + 4u * count++, v[k]);
            break;
        }
        }
        if (st != ST_OK)
            break;
        executed++;
        i += 1u + op_len[op];
    }
    /* a batch of 1024 bytes holds at most 204 ops: executed fits a u8 */
    rep[1] = (uint8_t)executed;
    rep[2] = (uint8_t)count;
    size_t head = 3u + 4u * count;
    uint8_t tmp[5]; /* status and detail; the detail follows the values */
    size_t dl = refusal(tmp, st, detail);
    for (size_t k = 1; k < dl; k++)
        rep[head + k - 1u] = tmp[k];
    rep[0] = st;
    return head + dl - 1u;
}

static size_t cmd_mem_read(const uint8_t *req, size_t n, uint8_t *rep)
{
    if (n != 6)
        return status_only(rep, ST_BAD_LENGTH);
    uint32_t addr = le_get32(req);
    uint16_t len = le_get16(req + 4);
    if (len > MAX_MEM_READ || !policy_in_arena(addr, len))
        return status_only(rep, ST_OUT_OF_ARENA);
    plat_dmb(); /* PROTOCOL.md 7: see what the DMA wrote */
    rep[0] = ST_OK;
    plat_mem_read(addr, rep + 1, len);
    return 1u + len;
}

static size_t cmd_mem_write(const uint8_t *req, size_t n, uint8_t *rep)
{
    if (n < 4)
        return status_only(rep, ST_BAD_LENGTH);
    uint32_t addr = le_get32(req);
    uint32_t len = (uint32_t)(n - 4u);
    if (len > MAX_MEM_WRITE)
        return status_only(rep, ST_OUT_OF_ARENA);
    uint8_t st = policy_mem_write_check(addr, len);
    if (st == ST_OK)
        plat_mem_write(addr, req + 4, len);
    return status_only(rep, st);
}

static size_t cmd_reset_peripherals(size_t n, uint8_t *rep)
{
    if (n != 0)
        return status_only(rep, ST_BAD_LENGTH);
    plat_reset_peripherals();
    policy_reset();
    return status_only(rep, ST_OK);
}

static size_t cmd_board_status(size_t n, uint8_t *rep)
{
    if (n != 0)
        return status_only(rep, ST_BAD_LENGTH);
    struct plat_status st;
    plat_board_status(&st);
    uint8_t *p = rep;
    *p++ = ST_OK;
    p = le_put32(p, st.reset_flags);
    p = le_put32(p, st.link_rx_dropped);
    p = le_put32(p, st.link_rx_errors);
    p = le_put32(p, st.link_fallbacks);
    p = le_put32(p, ev_dropped());
    p = le_put32(p, st.fault_pc);
    p = le_put32(p, st.fault_count);
    p = le_put32(p, st.link_frames_dropped);
    return (size_t)(p - rep);
}

size_t dispatch_request(uint8_t type, const uint8_t *req, size_t n, uint8_t *rep)
{
    switch (type) {
    case T_PING:
        return cmd_ping(req, n, rep);
    case T_REG_READ:
        return cmd_reg_read(req, n, rep);
    case T_REG_WRITE:
        return cmd_reg_write(req, n, rep);
    case T_REG_BATCH:
        return cmd_reg_batch(req, n, rep);
    case T_MEM_READ:
        return cmd_mem_read(req, n, rep);
    case T_MEM_WRITE:
        return cmd_mem_write(req, n, rep);
    case T_RESET_PERIPHERALS:
        return cmd_reset_peripherals(n, rep);
    case T_SET_LINK_BAUD:
        return cmd_set_link_baud(req, n, rep);
    case T_BOARD_STATUS:
        return cmd_board_status(n, rep);
    default:
        return status_only(rep, ST_UNKNOWN_COMMAND);
    }
}
