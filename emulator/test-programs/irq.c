/* SysTick, an NVIC-pended IRQ, PendSV, SVC, PRIMASK and WFI. */
#include "runtime.h"

#define SYST_CSR REG32(0xe000e010)
#define SYST_RVR REG32(0xe000e014)
#define SYST_CVR REG32(0xe000e018)
#define NVIC_ISER REG32(0xe000e100)
#define NVIC_ISPR REG32(0xe000e200)
#define NVIC_IPR1 REG32(0xe000e404)
#define SCB_ICSR REG32(0xe000ed04)

static volatile uint32_t ticks, irq5_count, pendsv_count, svc_count, order[4], order_len;

void SysTick_Handler(void) { ticks++; }
void IRQ5_Handler(void) {
  irq5_count++;
  order[order_len++] = 5;
}
void PendSV_Handler(void) {
  pendsv_count++;
  order[order_len++] = 14;
}
void SVC_Handler(void) { svc_count++; }

int main(void) {
  /* 1 ms ticks from the 16 MHz core clock; sleep between them. */
  SYST_RVR = 16000 - 1;
  SYST_CVR = 0;
  SYST_CSR = 7;
  while (ticks < 10) wfi();
  SYST_CSR = 0;
  CHECK(ticks == 10);

  NVIC_ISER = 1u << 5;
  NVIC_ISPR = 1u << 5;
  dsb();
  isb();
  CHECK(irq5_count == 1);

  SCB_ICSR = 1u << 28; /* PENDSVSET */
  dsb();
  isb();
  CHECK(pendsv_count == 1);

  __asm__ volatile("svc 0" ::: "memory");
  CHECK(svc_count == 1);

  /* With interrupts masked both stay pending; equal priority, so IRQ5 (21) runs after PendSV (14). */
  order_len = 0;
  disable_irq();
  NVIC_ISPR = 1u << 5;
  SCB_ICSR = 1u << 28;
  dsb();
  CHECK(irq5_count == 1 && pendsv_count == 1);
  enable_irq();
  isb();
  CHECK(irq5_count == 2 && pendsv_count == 2);
  CHECK(order_len == 2 && order[0] == 14 && order[1] == 5);

  /* With PendSV made the lowest priority, IRQ5 goes first although its exception number is higher. */
  REG32(0xe000ed20) = 0xc0u << 16; /* SHPR3: PendSV priority 3 */
  order_len = 0;
  disable_irq();
  SCB_ICSR = 1u << 28;
  NVIC_ISPR = 1u << 5;
  enable_irq();
  isb();
  CHECK(order_len == 2 && order[0] == 5 && order[1] == 14);

  sh_puts("irq: ok\n");
  return 0;
}
