/* Vector table and reset: copy .data, clear .bss, run main, exit with its status. */
#include "runtime.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void) __attribute__((weak));
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ5_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ31_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*vector_t)(void);

__attribute__((section(".vectors"), used)) const vector_t vectors[16 + 32] = {
    [0] = (vector_t)&_estack,
    [1] = Reset_Handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4 ... 10] = Default_Handler,
    [11] = SVC_Handler,
    [12 ... 13] = Default_Handler,
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    [16 ... 20] = Default_Handler,
    [21] = IRQ5_Handler,
    [22 ... 46] = Default_Handler,
    [47] = IRQ31_Handler,
};

void Reset_Handler(void) {
  uint32_t *src = &_sidata;
  uint32_t *dst = &_sdata;
  while (dst < &_edata) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  sh_exit(main());
}

void Default_Handler(void) {
  uint32_t ipsr;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  sh_puts("unexpected exception ");
  sh_put_uint(ipsr);
  sh_puts("\n");
  sh_exit(2);
}

void HardFault_Handler(void) {
  sh_puts("HardFault\n");
  sh_exit(3);
}
