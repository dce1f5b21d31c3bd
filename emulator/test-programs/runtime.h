/* Test-program runtime: semihosting output and exit, and a CHECK macro. */
#ifndef RUNTIME_H
#define RUNTIME_H

#include <stdint.h>

void sh_puts(const char *s);
void sh_put_uint(uint32_t value);
__attribute__((noreturn)) void sh_exit(int code);
__attribute__((noreturn)) void check_failed(const char *file, int line, const char *what);

#define CHECK(cond) \
  do { \
    if (!(cond)) check_failed(__FILE__, __LINE__, #cond); \
  } while (0)

#define REG32(addr) (*(volatile uint32_t *)(addr))

static inline void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
static inline void dsb(void) { __asm__ volatile("dsb" ::: "memory"); }
static inline void isb(void) { __asm__ volatile("isb" ::: "memory"); }
static inline void disable_irq(void) { __asm__ volatile("cpsid i" ::: "memory"); }
static inline void enable_irq(void) { __asm__ volatile("cpsie i" ::: "memory"); }

#endif
