/*
 * Start-up: the vector table (16 system entries + 31 interrupts, names as
 * in ST's startup_stm32g071xx.s), the reset handler and the HardFault
 * handler.
 */
#include <stdint.h>

#include "boot_epoch.h"
#include "clock.h"
#include "cm0.h"
#include "stm32g071.h"

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
int main(void);

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);

#define WEAK __attribute__((weak, alias("Default_Handler")))
void NMI_Handler(void) WEAK;
void SVC_Handler(void) WEAK;
void PendSV_Handler(void) WEAK;
void SysTick_Handler(void) WEAK;
void WWDG_IRQHandler(void) WEAK;
void PVD_IRQHandler(void) WEAK;
void RTC_TAMP_IRQHandler(void) WEAK;
void FLASH_IRQHandler(void) WEAK;
void RCC_IRQHandler(void) WEAK;
void EXTI0_1_IRQHandler(void) WEAK;
void EXTI2_3_IRQHandler(void) WEAK;
void EXTI4_15_IRQHandler(void) WEAK;
void UCPD1_2_IRQHandler(void) WEAK;
void DMA1_Channel1_IRQHandler(void) WEAK;
void DMA1_Channel2_3_IRQHandler(void) WEAK;
void DMA1_Ch4_7_DMAMUX1_OVR_IRQHandler(void) WEAK;
void ADC1_COMP_IRQHandler(void) WEAK;
void TIM1_BRK_UP_TRG_COM_IRQHandler(void) WEAK;
void TIM1_CC_IRQHandler(void) WEAK;
void TIM2_IRQHandler(void) WEAK;
void TIM3_IRQHandler(void) WEAK;
void TIM6_DAC_LPTIM1_IRQHandler(void) WEAK;
void TIM7_LPTIM2_IRQHandler(void) WEAK;
void TIM14_IRQHandler(void) WEAK;
void TIM15_IRQHandler(void) WEAK;
void TIM16_IRQHandler(void) WEAK;
void TIM17_IRQHandler(void) WEAK;
void I2C1_IRQHandler(void) WEAK;
void I2C2_IRQHandler(void) WEAK;
void SPI1_IRQHandler(void) WEAK;
void SPI2_IRQHandler(void) WEAK;
void USART1_IRQHandler(void) WEAK;
void USART2_IRQHandler(void) WEAK;
void USART3_4_LPUART1_IRQHandler(void) WEAK;
void CEC_IRQHandler(void) WEAK;

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) static const vector_t vectors[47] = {
    (vector_t)&_estack,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    0, 0, 0, 0, 0, 0, 0,            /* reserved on ARMv6-M */
    SVC_Handler,
    0, 0,                           /* reserved */
    PendSV_Handler,
    SysTick_Handler,
    WWDG_IRQHandler,                /* 0 */
    PVD_IRQHandler,                 /* 1 */
    RTC_TAMP_IRQHandler,            /* 2 */
    FLASH_IRQHandler,               /* 3 */
    RCC_IRQHandler,                 /* 4 */
    EXTI0_1_IRQHandler,             /* 5 */
    EXTI2_3_IRQHandler,             /* 6 */
    EXTI4_15_IRQHandler,            /* 7 */
    UCPD1_2_IRQHandler,             /* 8 */
    DMA1_Channel1_IRQHandler,       /* 9 */
    DMA1_Channel2_3_IRQHandler,     /* 10 */
    DMA1_Ch4_7_DMAMUX1_OVR_IRQHandler, /* 11 */
    ADC1_COMP_IRQHandler,           /* 12 */
    TIM1_BRK_UP_TRG_COM_IRQHandler, /* 13 */
    TIM1_CC_IRQHandler,             /* 14 */
    TIM2_IRQHandler,                /* 15 */
    TIM3_IRQHandler,                /* 16 */
    TIM6_DAC_LPTIM1_IRQHandler,     /* 17 */
    TIM7_LPTIM2_IRQHandler,         /* 18 */
    TIM14_IRQHandler,               /* 19 */
    TIM15_IRQHandler,               /* 20 */
    TIM16_IRQHandler,               /* 21 */
    TIM17_IRQHandler,               /* 22 */
    I2C1_IRQHandler,                /* 23 */
    I2C2_IRQHandler,                /* 24 */
    SPI1_IRQHandler,                /* 25 */
    SPI2_IRQHandler,                /* 26 */
    USART1_IRQHandler,              /* 27 */
    USART2_IRQHandler,              /* 28 */
    USART3_4_LPUART1_IRQHandler,    /* 29 */
    CEC_IRQHandler,                 /* 30 */
};

void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    boot_epoch_update();
    (void)clock_init();
    main();
    for (;;) {
    }
}

/* SYSRESETREQ with a DSB on each side (ARMv6-M ARM B3.2.6, AIRCR): the
 * .noinit record is written before the reset is asked for, and nothing
 * runs after the request while the reset takes effect. */
__attribute__((noreturn)) static void system_reset(void)
{
    cpu_dsb();
    SCB->AIRCR = SCB_AIRCR_VECTKEY | SCB_AIRCR_SYSRESETREQ;
    cpu_dsb();
    for (;;) {
    }
}

/* An unexpected interrupt: nothing enables one, so treat it as a fault. */
void Default_Handler(void)
{
    boot_note_fault(0xFFFFFFFFu);
    system_reset();
}

/* Called with the exception frame (r0-r3, r12, lr, pc, xpsr). Records the
 * faulting PC in .noinit, then resets the chip: the host sees a BOOT
 * event and a new epoch (PROTOCOL.md 8). */
__attribute__((used, noreturn)) void hardfault_record(const uint32_t *frame)
{
    boot_note_fault(frame[6]);
    system_reset();
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile("mrs r0, msp\n\t"
                     "bl hardfault_record\n\t");
}
