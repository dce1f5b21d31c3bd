#include "bridge.h"

#include "../platform.h"
#include "frame_rx.h"
#include "frame_tx.h"
#include "policy.h"
#include "session.h"

void bridge_init(void)
{
    struct plat_info info;
    plat_hello_info(&info);
    policy_init(info.arena_base, info.arena_size);
    session_init(info.boot_epoch);
    frame_rx_init();
    ev_init(info.boot_epoch);
    ev_post_boot(info.boot_epoch);
}

void bridge_rx_byte(uint8_t b)
{
    frame_rx_byte(b);
}

void bridge_rx_bytes(const uint8_t *p, size_t n)
{
    frame_rx_bytes(p, n);
}

void bridge_rx_restart(void)
{
    frame_rx_discard();
}

void bridge_flush_events(void)
{
    const struct event *e;
    while ((e = ev_peek()) != 0) {
        frame_send_event(e);
        ev_pop();
    }
}
