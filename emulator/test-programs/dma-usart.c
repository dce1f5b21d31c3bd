/*
 * DMA and USART corner cases on the STM32G071 model, for the differential
 * test of the peripherals' bulk and per-character paths
 * (emulator/host/bulk-vs-per-character.test.ts): the test compares every
 * register access, interrupt, wire byte and SRAM, so this program only has
 * to make the cases happen, while the host link (USART2) and USART1's peer
 * keep sending at fixed times:
 *
 *   - both receivers stream into circular rings (HT/TC, character match,
 *     IDLE, errors) for the whole run, so everything below meets them;
 *   - a transmission polled through CNDTR; one whose HT/TC flags are set
 *     with their interrupts off and read later; one stopped by clearing EN
 *     mid-run and restarted; one whose buffer the core writes ahead of the
 *     DMA; two transmissions at once on both USARTs (arbitration between
 *     four channels); one whose TX pin is taken away and given back; a
 *     transmission cut by clearing UE;
 *   - an overrun (the receive channel off while characters arrive), then
 *     overrun detection off and DMA-blocking reception errors (DDRE).
 *
 * Runs at HSI16: USART1 at 1 Mbaud (BRR 16), USART2 at 500 kbaud (BRR 32).
 */
#include "runtime.h"

#define RCC_IOPENR REG32(0x40021034)
#define RCC_AHBENR REG32(0x40021038)
#define RCC_APBENR1 REG32(0x4002103C)
#define RCC_APBENR2 REG32(0x40021040)
#define GPIOA 0x50000000u
#define GPIOC 0x50000800u
#define MODER(g) REG32((g) + 0x00)
#define AFRL(g) REG32((g) + 0x20)
#define USART1 0x40013800u
#define USART2 0x40004400u
#define CR1(u) REG32((u) + 0x00)
#define CR2(u) REG32((u) + 0x04)
#define CR3(u) REG32((u) + 0x08)
#define BRR(u) REG32((u) + 0x0C)
#define ISR(u) REG32((u) + 0x1C)
#define ICR(u) REG32((u) + 0x20)
#define RDR(u) REG32((u) + 0x24)
#define TDR_ADDR(u) ((u) + 0x28)
#define RDR_ADDR(u) ((u) + 0x24)
#define DMA_ISR REG32(0x40020000)
#define DMA_IFCR REG32(0x40020004)
#define CCR(n) REG32(0x40020008 + 0x14 * ((n) - 1))
#define CNDTR(n) REG32(0x4002000C + 0x14 * ((n) - 1))
#define CPAR(n) REG32(0x40020010 + 0x14 * ((n) - 1))
#define CMAR(n) REG32(0x40020014 + 0x14 * ((n) - 1))
#define DMAMUX_CCR(x) REG32(0x40020800 + 4 * (x))
#define VTOR REG32(0xE000ED08)
#define NVIC_ISER REG32(0xE000E100)

#define UE (1u << 0)
#define RE (1u << 2)
#define TE (1u << 3)
#define IDLEIE (1u << 4)
#define CMIE (1u << 14)
#define EIE (1u << 0)
#define DMAR (1u << 6)
#define DMAT (1u << 7)
#define OVRDIS (1u << 12)
#define DDRE (1u << 13)
#define ISR_ERRORS 0xFu
#define ISR_RXNE (1u << 5)
#define ISR_TC (1u << 6)

#define EN (1u << 0)
#define TCIE (1u << 1)
#define HTIE (1u << 2)
#define TEIE (1u << 3)
#define DIR (1u << 4)
#define CIRC (1u << 5)
#define MINC (1u << 7)
#define PL(p) ((uint32_t)(p) << 12)

#define REQ_USART1_RX 50u
#define REQ_USART1_TX 51u
#define REQ_USART2_RX 52u
#define REQ_USART2_TX 53u

static uint8_t tx1[400];
static uint8_t tx2[400];
static uint8_t ring1[64];
static uint8_t ring2[256];
static volatile uint32_t notes[1024];
static volatile uint32_t nnotes;
static volatile uint32_t done_ch1, done_ch4, halves1, halves2, matches, idles, errors;

static void note(uint32_t v) {
  if (nnotes < 1024) notes[nnotes++] = v;
}

/* A wait the core times alone: no peripheral access while the DMA runs. */
static void spin(volatile uint32_t n) {
  while (n--) __asm__ volatile("nop");
}

static void usart_irq(uint32_t u, uint32_t tag) {
  uint32_t isr = ISR(u);
  note(tag | (isr & 0xFFFFu));
  if (isr & ISR_ERRORS) {
    errors++;
    if (!(isr & ISR_RXNE)) note(tag | 0x8000u | RDR(u));
    ICR(u) = isr & ISR_ERRORS;
  }
  if (isr & (1u << 17)) matches++;
  if (isr & (1u << 4)) idles++;
  ICR(u) = isr & ((1u << 4) | (1u << 17));
}

static void usart1_irq(void) { usart_irq(USART1, 0x01000000u); }
static void usart2_irq(void) { usart_irq(USART2, 0x02000000u); }

static void dma_ch1_irq(void) {
  uint32_t f = DMA_ISR & 0xFu;
  note(0x03000000u | f | (CNDTR(1) << 8));
  DMA_IFCR = f;
  if (f & 2u) done_ch1++;
}

static void dma_ch2_3_irq(void) {
  uint32_t f = DMA_ISR & 0xFF0u;
  note(0x04000000u | f | (CNDTR(3) << 12));
  DMA_IFCR = f;
  halves1 += ((f >> 6) & 1u) + ((f >> 5) & 1u);
  halves2 += ((f >> 10) & 1u) + ((f >> 9) & 1u);
}

static void dma_ch4_7_irq(void) {
  uint32_t f = (DMA_ISR >> 12) & 0xFu;
  note(0x05000000u | f | (CNDTR(4) << 8));
  DMA_IFCR = f << 12;
  if (f & 2u) done_ch4++;
}

/* The vector table in RAM (VTOR), with this program's handlers; startup.c's in flash has none. */
extern void (*const vectors[48])(void);
static void (*ram_vectors[48])(void) __attribute__((aligned(256)));

/* EN alone first: the rest of CCR is read-only while EN = 1 (RM0444 §10.6.3). */
static void stop(uint32_t ch) {
  CCR(ch) &= ~EN;
  CCR(ch) = 0;
}

static void start_tx(uint32_t ch, uint32_t usart, uint32_t req, uint8_t *buf, uint32_t n, uint32_t ccr) {
  stop(ch);
  DMAMUX_CCR(ch - 1) = req;
  CPAR(ch) = TDR_ADDR(usart);
  CMAR(ch) = (uint32_t)buf;
  CNDTR(ch) = n;
  CCR(ch) = ccr | MINC | DIR | EN;
}

static void start_ring(uint32_t ch, uint32_t usart, uint32_t req, uint8_t *ring, uint32_t n) {
  stop(ch);
  DMAMUX_CCR(ch - 1) = req;
  CPAR(ch) = RDR_ADDR(usart);
  CMAR(ch) = (uint32_t)ring;
  CNDTR(ch) = n;
  CCR(ch) = MINC | CIRC | HTIE | TCIE | PL(2) | EN;
}

static void wait_tc(uint32_t usart) {
  while (!(ISR(usart) & ISR_TC)) {
  }
}

static void usart_on(uint32_t u, uint32_t brr, uint32_t cr3) {
  CR1(u) = 0;
  BRR(u) = brr;
  CR2(u) = (uint32_t)'\n' << 24;
  CR3(u) = cr3;
  CR1(u) = CMIE | IDLEIE | TE | RE | UE;
}

int main(void) {
  RCC_IOPENR |= 1u | 4u;
  RCC_AHBENR |= 1u;
  RCC_APBENR1 |= 1u << 17;
  RCC_APBENR2 |= 1u << 14;
  MODER(GPIOA) = (MODER(GPIOA) & ~0xF0u) | 0xA0u;
  AFRL(GPIOA) = (AFRL(GPIOA) & ~0xFF00u) | 0x1100u;
  MODER(GPIOC) = (MODER(GPIOC) & ~0xF00u) | 0xA00u;
  AFRL(GPIOC) = (AFRL(GPIOC) & ~0xFF0000u) | 0x110000u;
  for (int i = 0; i < 48; i++) ram_vectors[i] = vectors[i];
  ram_vectors[16 + 9] = dma_ch1_irq;
  ram_vectors[16 + 10] = dma_ch2_3_irq;
  ram_vectors[16 + 11] = dma_ch4_7_irq;
  ram_vectors[16 + 27] = usart1_irq;
  ram_vectors[16 + 28] = usart2_irq;
  VTOR = (uint32_t)ram_vectors;
  for (int i = 0; i < 400; i++) {
    tx1[i] = (uint8_t)(i * 7 + 1);
    tx2[i] = (uint8_t)(i * 13 + 2);
  }
  usart_on(USART1, 16, DMAR | DMAT | EIE);
  usart_on(USART2, 32, DMAR | DMAT | EIE);
  start_ring(2, USART1, REQ_USART1_RX, ring1, sizeof ring1);
  start_ring(3, USART2, REQ_USART2_RX, ring2, sizeof ring2);
  NVIC_ISER = (1u << 9) | (1u << 10) | (1u << 11) | (1u << 27) | (1u << 28);

  /* A transmission polled through CNDTR. */
  start_tx(1, USART1, REQ_USART1_TX, tx1, 300, TCIE | HTIE | PL(1));
  for (uint32_t left; (left = CNDTR(1)) != 0;) note(0x10000000u | left);
  while (!done_ch1) wfi();
  wait_tc(USART1);

  /* HT and TC set with their interrupts off, read afterwards. */
  start_tx(1, USART1, REQ_USART1_TX, tx1 + 10, 100, PL(1));
  spin(300);
  note(0x11000000u | DMA_ISR);
  spin(600);
  note(0x11000000u | DMA_ISR);
  while (!(DMA_ISR & 2u)) {
  }
  DMA_IFCR = 0xFu;
  wait_tc(USART1);

  /* EN cleared mid-run, then the rest sent. */
  start_tx(1, USART1, REQ_USART1_TX, tx1, 200, TCIE | PL(1));
  while (CNDTR(1) > 120) {
  }
  CCR(1) &= ~EN;
  uint32_t left = CNDTR(1);
  note(0x12000000u | left | (ISR(USART1) << 16));
  spin(200);
  start_tx(1, USART1, REQ_USART1_TX, tx1 + 200 - left, left, TCIE | PL(1));
  while (done_ch1 < 2) wfi();
  wait_tc(USART1);

  /* The core writes ahead of the DMA, into bytes it has not read yet. */
  start_tx(1, USART1, REQ_USART1_TX, tx1, 200, TCIE | PL(1));
  while (CNDTR(1) > 150) {
  }
  for (int i = 180; i < 200; i++) tx1[i] = (uint8_t)(0xA0 + i);
  while (done_ch1 < 3) wfi();
  wait_tc(USART1);

  /* Both transmitters at once, four channels running (PL: rings 2, channel 1 at 1, channel 4 at 1). */
  start_tx(4, USART2, REQ_USART2_TX, tx2, 300, TCIE | PL(1));
  start_tx(1, USART1, REQ_USART1_TX, tx1, 400, TCIE | HTIE | PL(1));
  while (done_ch1 < 4 || done_ch4 < 1) wfi();
  wait_tc(USART1);
  wait_tc(USART2);

  /* TX's pin taken away mid-transmission (the characters then leave nowhere), and given back. */
  start_tx(1, USART1, REQ_USART1_TX, tx1, 100, TCIE | PL(1));
  while (CNDTR(1) > 70) {
  }
  MODER(GPIOC) &= ~0x300u;
  spin(1500);
  MODER(GPIOC) |= 0x200u;
  while (done_ch1 < 5) wfi();
  wait_tc(USART1);

  /* A transmission cut by clearing UE, then the USART back on. */
  start_tx(1, USART1, REQ_USART1_TX, tx1, 100, PL(1));
  while (CNDTR(1) > 60) {
  }
  CR1(USART1) &= ~UE;
  note(0x13000000u | CNDTR(1) | (ISR(USART1) << 16));
  stop(1);
  DMA_IFCR = 0xFu;
  usart_on(USART1, 16, DMAR | DMAT | EIE);

  /* An overrun: the ring's channel off while the peer sends. */
  CCR(2) &= ~EN;
  uint32_t before = halves1;
  spin(4000);
  note(0x14000000u | ISR(USART1) | (before << 24));
  ICR(USART1) = 0xFu;
  (void)RDR(USART1);
  /* Overrun detection off and reception errors that hold the DMA (DDRE). */
  CR1(USART1) = 0;
  CR3(USART1) = DMAR | DMAT | EIE | OVRDIS | DDRE;
  CR1(USART1) = CMIE | IDLEIE | TE | RE | UE;
  start_ring(2, USART1, REQ_USART1_RX, ring1, sizeof ring1);
  spin(8000);
  note(0x15000000u | ISR(USART1));

  /* What came in on both rings, for the record. */
  uint32_t sum = 0;
  for (unsigned i = 0; i < sizeof ring1; i++) sum = sum * 31u + ring1[i];
  for (unsigned i = 0; i < sizeof ring2; i++) sum = sum * 31u + ring2[i];
  note(0x16000000u | (sum & 0xFFFFFFu));
  sh_puts("dma-usart: ");
  sh_put_uint(nnotes);
  sh_puts(" notes, ");
  sh_put_uint(matches);
  sh_puts(" matches, ");
  sh_put_uint(idles);
  sh_puts(" idles, ");
  sh_put_uint(errors);
  sh_puts(" errors, ");
  sh_put_uint(halves1 + halves2);
  sh_puts(" halves\n");
  return 0;
}
