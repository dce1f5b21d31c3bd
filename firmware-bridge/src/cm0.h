/* Cortex-M0+ instructions the firmware needs (ARMv6-M ARM, A6.7). */
#ifndef CM0_H
#define CM0_H

static inline void cpu_irq_disable(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

static inline void cpu_irq_enable(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}

/* PRIMASK before masking interrupts: restore it with cpu_primask_restore. */
static inline unsigned cpu_primask_save(void)
{
    unsigned primask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}

static inline void cpu_primask_restore(unsigned primask)
{
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
}

/* Wakes on a pending interrupt even with PRIMASK set. */
static inline void cpu_wfi(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

static inline void cpu_dsb(void)
{
    __asm__ volatile("dsb 0xF" ::: "memory");
}

static inline void cpu_dmb(void)
{
    __asm__ volatile("dmb 0xF" ::: "memory");
}

#endif
