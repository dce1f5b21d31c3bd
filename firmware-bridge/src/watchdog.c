#include "watchdog.h"

#include <stdint.h>

#include "stm32g071.h"

/* LSI (32 kHz nominal, 29.5 to 34 kHz) / 64 is a tick of 2 ms; 750 ticks
 * are 1.5 s, 1.41 s at the fastest LSI. The main loop comes round at least
 * at every SysTick wrap: 262 ms at 64 MHz, 1.05 s at the 16 MHz fallback
 * clock, which is why the timeout is not a round second. */
#define IWDG_PRESCALER 4u /* /64 */
#define IWDG_RELOAD 749u
/* SR's update flags clear within five LSI cycles (RM0444 §24.4.4), 170 us
 * at the slowest LSI; bounded as every other wait. */
#define IWDG_SYNC_POLLS 20000u

void watchdog_start(void)
{
    /* DBGEN is on (board_init): stop the count while a debugger halts the core */
    DBGMCU->APB_FZ1 |= DBGMCU_APB_FZ1_DBG_IWDG_STOP;
    IWDG->KR = IWDG_KEY_START; /* starts LSI too (RM0444 §24.3.2) */
    IWDG->KR = IWDG_KEY_UNLOCK;
    IWDG->PR = IWDG_PRESCALER;
    IWDG->RLR = IWDG_RELOAD;
    for (uint32_t i = 0; i < IWDG_SYNC_POLLS && (IWDG->SR & IWDG_SR_BUSY) != 0; i++) {
    }
    IWDG->KR = IWDG_KEY_RELOAD; /* also closes PR and RLR again */
}

void watchdog_feed(void)
{
    IWDG->KR = IWDG_KEY_RELOAD;
}
