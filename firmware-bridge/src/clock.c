/* 64 MHz from HSI16: PLL M = 1, N = 8, R = 2 (VCO 128 MHz), as ST's
 * NUCLEO-G071RB examples; sequence from RM0444 5.2 (stm32g071.md). */
#include "clock.h"

#include <stdbool.h>

#include "stm32g071.h"

/* Far longer than any of these waits takes (the PLL locks in well under
 * 100 us; HSI16 starts in a few), at 16 MHz and about 6 cycles a turn:
 * some 40 ms before giving up. */
#define WAIT_TURNS 100000u

static uint32_t pclk_hz = HSI16_HZ;

/* Waits until (*reg & mask) == value, at most WAIT_TURNS reads. */
static bool wait_for(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    for (uint32_t i = 0; i < WAIT_TURNS; i++)
        if ((*reg & mask) == value)
            return true;
    return false;
}

uint32_t clock_init(void)
{
    RCC->CR = (RCC->CR & ~RCC_CR_HSIDIV_MASK) | RCC_CR_HSION;
    if (!wait_for(&RCC->CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY))
        return pclk_hz; /* HSI16 is the reset clock: it runs anyway */

    /* PLLCFGR may only change while the PLL is off */
    RCC->CR &= ~RCC_CR_PLLON;
    if (!wait_for(&RCC->CR, RCC_CR_PLLRDY, 0))
        return pclk_hz;
    RCC->PLLCFGR = RCC_PLLCFGR_PLLSRC_HSI16 | RCC_PLLCFGR_PLLM(1) | RCC_PLLCFGR_PLLN(8) |
                   RCC_PLLCFGR_PLLR(2);
    RCC->CR |= RCC_CR_PLLON;
    RCC->PLLCFGR |= RCC_PLLCFGR_PLLREN;
    if (!wait_for(&RCC->CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
        RCC->CR &= ~RCC_CR_PLLON;
        return pclk_hz;
    }

    /* two wait states before the clock rises (RM0444 FLASH_ACR: 2 above
     * 48 MHz); read back to be sure the flash interface took them */
    FLASH->ACR = (FLASH->ACR & ~FLASH_ACR_LATENCY_MASK) | FLASH_ACR_LATENCY_2WS | FLASH_ACR_PRFTEN |
                 FLASH_ACR_ICEN;
    if (!wait_for(&FLASH->ACR, FLASH_ACR_LATENCY_MASK, FLASH_ACR_LATENCY_2WS))
        return pclk_hz;

    RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLLRCLK;
    if (!wait_for(&RCC->CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLLRCLK)) {
        RCC->CFGR &= ~RCC_CFGR_SW_MASK; /* back to HSI16 */
        return pclk_hz;
    }
    pclk_hz = SYSCLK_HZ;
    return pclk_hz;
}

uint32_t clock_pclk_hz(void)
{
    return pclk_hz;
}
