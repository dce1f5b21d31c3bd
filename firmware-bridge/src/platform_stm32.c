/* platform.h for the STM32G071 (the transmit queue is in hostlink.c). */
#include "platform.h"

#include <string.h>

#include "board.h"
#include "boot_epoch.h"
#include "clock.h"
#include "cm0.h"
#include "hostlink.h"
#include "stm32g071.h"

extern uint8_t _sarena[], _earena[];

uint32_t plat_reg_read(uint32_t addr)
{
    return *(volatile uint32_t *)(uintptr_t)addr;
}

void plat_reg_write(uint32_t addr, uint32_t value)
{
    *(volatile uint32_t *)(uintptr_t)addr = value;
}

void plat_mem_read(uint32_t addr, uint8_t *dst, size_t n)
{
    memcpy(dst, (const void *)(uintptr_t)addr, n);
}

void plat_mem_write(uint32_t addr, const uint8_t *src, size_t n)
{
    memcpy((void *)(uintptr_t)addr, src, n);
}

uint32_t plat_irq_lock(void)
{
    return cpu_primask_save();
}

void plat_irq_unlock(uint32_t key)
{
    cpu_primask_restore(key);
}

void plat_dsb(void)
{
    cpu_dsb();
}

void plat_dmb(void)
{
    cpu_dmb();
}

/* SysTick runs free from the core clock (24 bits, counting down), at the
 * clock clock_init reached: 64 MHz, or 16 MHz when it fell back to HSI16
 * (HCLK = PCLK here). Called often enough (every POLL iteration) that it
 * never wraps twice between calls; the first call after a long pause only
 * starts the count. */
uint32_t plat_micros(void)
{
    static uint32_t last, ticks, us;
    uint32_t per_us = clock_pclk_hz() / 1000000u;
    uint32_t now = SYSTICK->CVR;
    ticks += (last - now) & SYSTICK_MAX;
    last = now;
    us += ticks / per_us;
    ticks %= per_us;
    return us;
}

void plat_reset_peripherals(void)
{
    /* EN first, alone: the other CCR fields are read-only while EN = 1
     * (RM0444 DMA_CCRx), so a single write of 0 could leave them set */
    for (unsigned ch = 0; ch < 2; ch++) {
        DMA1->CH[ch].CCR &= ~DMA_CCR_EN;
        DMA1->CH[ch].CCR = 0;
    }
    DMA1->IFCR = (DMA_FLAGS_ALL << DMA_ISR_SHIFT(1)) | (DMA_FLAGS_ALL << DMA_ISR_SHIFT(2));
    for (unsigned ch = 0; ch < 2; ch++) {
        DMA1->CH[ch].CNDTR = 0;
        DMA1->CH[ch].CPAR = 0;
        DMA1->CH[ch].CMAR = 0;
    }
    DMAMUX1->CCR[0] = 0;
    DMAMUX1->CCR[1] = 0;
    RCC->APBRSTR2 |= RCC_APBRSTR2_USART1RST;
    RCC->APBRSTR2 &= ~RCC_APBRSTR2_USART1RST;
    /* interrupts whose cause is gone */
    NVIC->ICPR = (1u << IRQN_DMA1_CHANNEL1) | (1u << IRQN_DMA1_CHANNEL2_3) | (1u << IRQN_USART1);
}

void plat_board_status(struct plat_status *st)
{
    st->reset_flags = board_reset_flags();
    st->link_rx_dropped = hostlink_rx_overruns();
    st->link_rx_errors = hostlink_rx_errors();
    st->link_fallbacks = hostlink_fallbacks();
    st->fault_pc = boot_fault_pc();
    st->fault_count = boot_fault_count();
    st->link_frames_dropped = hostlink_frames_dropped();
}

void plat_hello_info(struct plat_info *info)
{
    uint32_t id = DBGMCU->IDCODE;
    const volatile uint8_t *uid = (const volatile uint8_t *)UID_BASE;
    info->dev_id = DBGMCU_IDCODE_DEV_ID(id);
    info->rev_id = DBGMCU_IDCODE_REV_ID(id);
    for (int i = 0; i < 12; i++)
        info->uid[i] = uid[i];
    info->arena_base = (uint32_t)(uintptr_t)_sarena;
    info->arena_size = (uint32_t)(_earena - _sarena);
    info->boot_epoch = boot_epoch();
    info->usart1_clock_hz = clock_pclk_hz(); /* CCIPR USART1SEL = 0: PCLK */
    hostlink_info(info);
}
