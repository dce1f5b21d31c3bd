/*
 * The bridge's main loop: bytes from the host link go through the
 * protocol core; events posted by interrupt handlers are sent; when there
 * is nothing to do the core sleeps in WFI (the emulator runs idle
 * firmware for free only through WFI). The watchdog is fed here and only
 * here: SysTick wakes an idle loop at least every 1.05 s, and every wait
 * the loop can enter is bounded well under the watchdog's 1.4 s.
 */
#include "board.h"
#include "cm0.h"
#include "core/bridge.h"
#include "hostlink.h"
#include "watchdog.h"

int main(void)
{
    cpu_irq_disable();
    board_init();
    watchdog_start();
    bridge_init(); /* posts BOOT */
    bridge_flush_events(); /* BOOT is the first frame on the wire */
    cpu_irq_enable();

    for (;;) {
        const uint8_t *run;
        size_t n;
        watchdog_feed();
        /* the receive DMA's ring, a run at a time; events go out between runs */
        while ((n = hostlink_rx_peek(&run)) != 0) {
            watchdog_feed();
            bridge_rx_bytes(run, n);
            hostlink_rx_consume(n);
            if (ev_pending())
                bridge_flush_events();
        }
        bridge_flush_events();
        if (hostlink_service())
            bridge_rx_restart(); /* a frame begun at the old rate is not the host's */

        /* WFI wakes on a pending interrupt even with PRIMASK set; the
         * handler runs once interrupts are enabled again */
        cpu_irq_disable();
        if (!hostlink_rx_available() && !ev_pending())
            cpu_wfi();
        cpu_irq_enable();
    }
}
