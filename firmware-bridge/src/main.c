/*
 * The bridge's main loop: bytes from the host link go through the
 * protocol core; events posted by interrupt handlers are sent; when there
 * is nothing to do the core sleeps in WFI (the emulator runs idle
 * firmware for free only through WFI).
 */
#include "board.h"
#include "cm0.h"
#include "core/bridge.h"
#include "hostlink.h"

int main(void)
{
    cpu_irq_disable();
    board_init();
    bridge_init(); /* posts BOOT */
    bridge_flush_events(); /* BOOT is the first frame on the wire */
    cpu_irq_enable();

    for (;;) {
        uint8_t b;
        while (hostlink_rx_pop(&b)) {
            bridge_rx_byte(b);
            if (ev_pending())
                bridge_flush_events();
        }
        bridge_flush_events();

        /* WFI wakes on a pending interrupt even with PRIMASK set; the
         * handler runs once interrupts are enabled again */
        cpu_irq_disable();
        if (!hostlink_rx_available() && !ev_pending())
            cpu_wfi();
        cpu_irq_enable();
    }
}
