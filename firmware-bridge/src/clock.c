/* 64 MHz from HSI16: PLL M = 1, N = 8, R = 2 (VCO 128 MHz), as ST's
 * NUCLEO-G071RB examples; sequence from RM0444 5.2 (stm32g071.md). */
#include "clock.h"

#include "stm32g071.h"

void clock_init_64mhz(void)
{
    /* two wait states before the clock rises; read back to be sure the
     * flash interface took it */
    FLASH->ACR = (FLASH->ACR & ~FLASH_ACR_LATENCY_MASK) | FLASH_ACR_LATENCY_2WS | FLASH_ACR_PRFTEN |
                 FLASH_ACR_ICEN;
    while ((FLASH->ACR & FLASH_ACR_LATENCY_MASK) != FLASH_ACR_LATENCY_2WS) {
    }

    RCC->CR = (RCC->CR & ~RCC_CR_HSIDIV_MASK) | RCC_CR_HSION;
    while (!(RCC->CR & RCC_CR_HSIRDY)) {
    }

    /* PLLCFGR may only change while the PLL is off */
    RCC->CR &= ~RCC_CR_PLLON;
    while (RCC->CR & RCC_CR_PLLRDY) {
    }
    RCC->PLLCFGR = RCC_PLLCFGR_PLLSRC_HSI16 | RCC_PLLCFGR_PLLM(1) | RCC_PLLCFGR_PLLN(8) |
                   RCC_PLLCFGR_PLLR(2);
    RCC->CR |= RCC_CR_PLLON;
    RCC->PLLCFGR |= RCC_PLLCFGR_PLLREN;
    while (!(RCC->CR & RCC_CR_PLLRDY)) {
    }

    RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLLRCLK;
    while ((RCC->CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLLRCLK) {
    }
}
