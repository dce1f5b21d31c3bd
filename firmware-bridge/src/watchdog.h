/* The independent watchdog: a firmware that stops coming round its main
 * loop (a wait that never ends, a fault that returns to a loop) resets
 * instead of leaving a board that neither answers nor recovers. */
#ifndef WATCHDOG_H
#define WATCHDOG_H

/* Starts the IWDG (LSI, about 1.5 s), frozen while a debugger halts the
 * core. It cannot be stopped until the next reset. */
void watchdog_start(void);
/* From the main loop only: an interrupt handler that feeds it would keep a
 * stuck loop alive. */
void watchdog_feed(void);

#endif
