/* An unaligned word load raises HardFault; the handler reports and exits with success. */
#include "runtime.h"

static volatile uint32_t words[2] = {0x11223344u, 0x55667788u};

void HardFault_Handler(void) {
  sh_puts("fault: caught HardFault\n");
  sh_exit(0);
}

int main(void) {
  /* Through asm: knowing the address is odd, gcc would otherwise load it bytewise. */
  uintptr_t p = (uintptr_t)words + 1;
  uint32_t v;
  __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(p) : "memory");
  sh_puts("fault: no HardFault\n");
  return (int)v;
}
