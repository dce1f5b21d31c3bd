/*
 * STM32G071RB register map: only what the bridge touches.
 *
 * Written for this project from RM0444 and ST's SVD for the STM32G071.
 * Two views of the same facts:
 *   - plain addresses (xxx_BASE, xxx_ADDR): integers, usable by the
 *     register-free protocol core to compare addresses;
 *   - structs of volatile registers (RCC, USART1, ...): used only by the
 *     chip-side code (startup, platform, interrupt handlers).
 */
#ifndef STM32G071_H
#define STM32G071_H

#include <stdint.h>

#define REG32 volatile uint32_t

/* ---- memory map ---------------------------------------------------- */
#define FLASH_MEM_BASE    0x08000000u
#define SRAM_BASE         0x20000000u
#define UID_BASE          0x1FFF7590u /* 96-bit unique ID, 3 words */

#define IWDG_BASE         0x40003000u
#define USART2_BASE       0x40004400u
#define SYSCFG_BASE       0x40010000u
#define USART1_BASE       0x40013800u
#define DBGMCU_BASE       0x40015800u
#define DMA1_BASE         0x40020000u
#define DMAMUX1_BASE      0x40020800u
#define RCC_BASE          0x40021000u
#define FLASH_R_BASE      0x40022000u
#define GPIOA_BASE        0x50000000u
#define GPIOB_BASE        0x50000400u
#define GPIOC_BASE        0x50000800u

/* ---- RCC ----------------------------------------------------------- */
typedef struct {
    REG32 CR;        /* 0x00 */
    REG32 ICSCR;     /* 0x04 */
    REG32 CFGR;      /* 0x08 */
    REG32 PLLCFGR;   /* 0x0C */
    REG32 RESERVED0[2];
    REG32 CIER;      /* 0x18 */
    REG32 CIFR;      /* 0x1C */
    REG32 CICR;      /* 0x20 */
    REG32 IOPRSTR;   /* 0x24 */
    REG32 AHBRSTR;   /* 0x28 */
    REG32 APBRSTR1;  /* 0x2C */
    REG32 APBRSTR2;  /* 0x30 */
    REG32 IOPENR;    /* 0x34 */
    REG32 AHBENR;    /* 0x38 */
    REG32 APBENR1;   /* 0x3C */
    REG32 APBENR2;   /* 0x40 */
    REG32 IOPSMENR;  /* 0x44 */
    REG32 AHBSMENR;  /* 0x48 */
    REG32 APBSMENR1; /* 0x4C */
    REG32 APBSMENR2; /* 0x50 */
    REG32 CCIPR;     /* 0x54 */
    REG32 RESERVED1;
    REG32 BDCR;      /* 0x5C */
    REG32 CSR;       /* 0x60: reset flags in [31:25], RMVF at 23 */
} rcc_t;
#define RCC_CSR_RMVF       (1u << 23)
#define RCC_CSR_RESET_FLAGS 0xFE000000u
#define RCC ((rcc_t *)RCC_BASE)

#define RCC_CR_HSION            (1u << 8)
#define RCC_CR_HSIRDY           (1u << 10)
#define RCC_CR_HSIDIV_MASK      (7u << 11)
#define RCC_CR_PLLON            (1u << 24)
#define RCC_CR_PLLRDY           (1u << 25)

#define RCC_PLLCFGR_PLLSRC_HSI16 (2u << 0)
#define RCC_PLLCFGR_PLLM(m)     ((uint32_t)((m) - 1u) << 4)
#define RCC_PLLCFGR_PLLN(n)     ((uint32_t)(n) << 8)
#define RCC_PLLCFGR_PLLREN      (1u << 28)
#define RCC_PLLCFGR_PLLR(r)     ((uint32_t)((r) - 1u) << 29)

#define RCC_CFGR_SW_MASK        (7u << 0)
#define RCC_CFGR_SW_PLLRCLK     (2u << 0)
#define RCC_CFGR_SWS_MASK       (7u << 3)
#define RCC_CFGR_SWS_PLLRCLK    (2u << 3)

#define RCC_IOPENR_GPIOAEN      (1u << 0)
#define RCC_IOPENR_GPIOCEN      (1u << 2)
#define RCC_AHBENR_DMA1EN       (1u << 0) /* also clocks DMAMUX1 */
#define RCC_APBENR1_USART2EN    (1u << 17)
#define RCC_APBENR1_DBGEN       (1u << 27)
#define RCC_APBENR2_SYSCFGEN    (1u << 0)
#define RCC_APBENR2_USART1EN    (1u << 14)
#define RCC_APBRSTR2_USART1RST  (1u << 14)

/* ---- FLASH --------------------------------------------------------- */
typedef struct {
    REG32 ACR;       /* 0x00 */
} flash_t;
#define FLASH ((flash_t *)FLASH_R_BASE)

#define FLASH_ACR_LATENCY_MASK  (7u << 0)
#define FLASH_ACR_LATENCY_2WS   (2u << 0) /* value 2: 48-64 MHz */
#define FLASH_ACR_PRFTEN        (1u << 8)
#define FLASH_ACR_ICEN          (1u << 9)

/* ---- GPIO ---------------------------------------------------------- */
typedef struct {
    REG32 MODER;     /* 0x00 */
    REG32 OTYPER;    /* 0x04 */
    REG32 OSPEEDR;   /* 0x08 */
    REG32 PUPDR;     /* 0x0C */
    REG32 IDR;       /* 0x10 */
    REG32 ODR;       /* 0x14 */
    REG32 BSRR;      /* 0x18 */
    REG32 LCKR;      /* 0x1C */
    REG32 AFR[2];    /* 0x20 AFRL, 0x24 AFRH */
    REG32 BRR;       /* 0x28 */
} gpio_t;
#define GPIOA ((gpio_t *)GPIOA_BASE)
#define GPIOC ((gpio_t *)GPIOC_BASE)

#define GPIO_MODE_OUTPUT        1u
#define GPIO_MODE_AF            2u
#define GPIO_PULL_UP            1u

/* ---- USART (USART1 and USART2 share the layout) -------------------- */
typedef struct {
    REG32 CR1;       /* 0x00 */
    REG32 CR2;       /* 0x04 */
    REG32 CR3;       /* 0x08 */
    REG32 BRR;       /* 0x0C */
    REG32 GTPR;      /* 0x10 */
    REG32 RTOR;      /* 0x14 */
    REG32 RQR;       /* 0x18 */
    REG32 ISR;       /* 0x1C */
    REG32 ICR;       /* 0x20 */
    REG32 RDR;       /* 0x24 */
    REG32 TDR;       /* 0x28 */
    REG32 PRESC;     /* 0x2C */
} usart_t;
#define USART1 ((usart_t *)USART1_BASE)
#define USART2 ((usart_t *)USART2_BASE)

#define USART_CR1_OFF   0x00u
#define USART_CR2_OFF   0x04u
#define USART_CR3_OFF   0x08u
#define USART_RQR_OFF   0x18u
#define USART_ISR_OFF   0x1Cu
#define USART_ICR_OFF   0x20u
#define USART_RDR_OFF   0x24u
#define USART_TDR_OFF   0x28u
#define USART_PRESC_OFF 0x2Cu

#define USART1_CR1_ADDR   (USART1_BASE + USART_CR1_OFF)
#define USART1_CR2_ADDR   (USART1_BASE + USART_CR2_OFF)
#define USART1_CR3_ADDR   (USART1_BASE + USART_CR3_OFF)
#define USART1_RQR_ADDR   (USART1_BASE + USART_RQR_OFF)
#define USART1_ISR_ADDR   (USART1_BASE + USART_ISR_OFF)
#define USART1_ICR_ADDR   (USART1_BASE + USART_ICR_OFF)
#define USART1_RDR_ADDR   (USART1_BASE + USART_RDR_OFF)
#define USART1_TDR_ADDR   (USART1_BASE + USART_TDR_OFF)
#define USART1_PRESC_ADDR (USART1_BASE + USART_PRESC_OFF)

#define USART_CR1_UE        (1u << 0)
#define USART_CR1_RE        (1u << 2)
#define USART_CR1_TE        (1u << 3)
#define USART_CR1_IDLEIE    (1u << 4)
#define USART_CR1_RXNEIE    (1u << 5)  /* RXFNEIE with FIFOEN */
#define USART_CR1_TCIE      (1u << 6)
#define USART_CR1_TXEIE     (1u << 7)  /* TXFNFIE with FIFOEN */
#define USART_CR1_PEIE      (1u << 8)
#define USART_CR1_CMIE      (1u << 14)
#define USART_CR1_RTOIE     (1u << 26)
#define USART_CR1_EOBIE     (1u << 27)
#define USART_CR1_TXFEIE    (1u << 30)
#define USART_CR1_RXFFIE    (1u << 31)
#define USART_CR2_LBDIE     (1u << 6)
#define USART_CR2_ADD_SHIFT 24u        /* character to match (CMF) */
#define USART_CR3_DMAR      (1u << 6)
#define USART_CR3_DMAT      (1u << 7)
#define USART_CR3_EIE       (1u << 0)
#define USART_CR3_CTSIE     (1u << 10)
#define USART_CR3_WUFIE     (1u << 22)
#define USART_CR3_TXFTIE    (1u << 23)
#define USART_CR3_TCBGTIE   (1u << 24)
#define USART_CR3_RXFTIE    (1u << 28)

#define USART_ISR_PE        (1u << 0)
#define USART_ISR_FE        (1u << 1)
#define USART_ISR_NE        (1u << 2)
#define USART_ISR_ORE       (1u << 3)
#define USART_ISR_IDLE      (1u << 4)
#define USART_ISR_RXNE      (1u << 5)
#define USART_ISR_TC        (1u << 6)
#define USART_ISR_TXE       (1u << 7)
#define USART_ISR_UDR       (1u << 13)
#define USART_ISR_CMF       (1u << 17)

/* ICR clear bits sit at the same positions as the ISR flags they clear */
#define USART_ICR_PECF      (1u << 0)
#define USART_ICR_FECF      (1u << 1)
#define USART_ICR_NECF      (1u << 2)
#define USART_ICR_ORECF     (1u << 3)
#define USART_ICR_IDLECF    (1u << 4)
#define USART_ICR_TCCF      (1u << 6)
#define USART_ICR_UDRCF     (1u << 13)
#define USART_ICR_CMCF      (1u << 17)
/* every clear bit ICR has (RM0444 USART_ICR); the rest are reserved */
#define USART_ICR_ALL       0x00123BFFu

/* ---- DMA1 (channel DMA, 7 channels; the bridge exposes 1 and 2) ---- */
typedef struct {
    REG32 CCR;       /* +0x0 */
    REG32 CNDTR;     /* +0x4, 16 bits */
    REG32 CPAR;      /* +0x8 */
    REG32 CMAR;      /* +0xC */
    REG32 RESERVED;  /* +0x10 */
} dma_channel_t;
typedef struct {
    REG32 ISR;       /* 0x00 */
    REG32 IFCR;      /* 0x04 */
    dma_channel_t CH[7]; /* channel n at 0x08 + 0x14 * (n - 1) */
} dma_t;
#define DMA1 ((dma_t *)DMA1_BASE)

#define DMA1_ISR_ADDR        (DMA1_BASE + 0x00u)
#define DMA1_IFCR_ADDR       (DMA1_BASE + 0x04u)
#define DMA1_CH_BASE(n)      (DMA1_BASE + 0x08u + 0x14u * ((uint32_t)(n) - 1u))
#define DMA1_CCR_ADDR(n)     (DMA1_CH_BASE(n) + 0x0u)
#define DMA1_CNDTR_ADDR(n)   (DMA1_CH_BASE(n) + 0x4u)
#define DMA1_CPAR_ADDR(n)    (DMA1_CH_BASE(n) + 0x8u)
#define DMA1_CMAR_ADDR(n)    (DMA1_CH_BASE(n) + 0xCu)

#define DMA_CCR_EN          (1u << 0)
#define DMA_CCR_TCIE        (1u << 1)
#define DMA_CCR_HTIE        (1u << 2)
#define DMA_CCR_TEIE        (1u << 3)
#define DMA_CCR_DIR         (1u << 4)  /* 1: memory -> peripheral */
#define DMA_CCR_CIRC        (1u << 5)
#define DMA_CCR_PINC        (1u << 6)
#define DMA_CCR_MINC        (1u << 7)
#define DMA_CCR_PSIZE_SHIFT 8u
#define DMA_CCR_PSIZE_MASK  (3u << 8)
#define DMA_CCR_MSIZE_SHIFT 10u
#define DMA_CCR_MSIZE_MASK  (3u << 10)
#define DMA_CCR_PL_MASK     (3u << 12)
#define DMA_CCR_MEM2MEM     (1u << 14)
#define DMA_CNDTR_MASK      0xFFFFu

/* ISR / IFCR: channel n's nibble at bit 4 * (n - 1) */
#define DMA_ISR_SHIFT(n)    (4u * ((uint32_t)(n) - 1u))
#define DMA_FLAG_GIF        (1u << 0)
#define DMA_FLAG_TCIF       (1u << 1)
#define DMA_FLAG_HTIF       (1u << 2)
#define DMA_FLAG_TEIF       (1u << 3)
#define DMA_FLAGS_ALL       0xFu

/* ---- DMAMUX1 ------------------------------------------------------- */
typedef struct {
    REG32 CCR[7];    /* 0x00 + 4x: channel x drives DMA1 channel x + 1 */
} dmamux_t;
#define DMAMUX1 ((dmamux_t *)DMAMUX1_BASE)

#define DMAMUX1_CCR_ADDR(x) (DMAMUX1_BASE + 4u * (uint32_t)(x))
#define DMAMUX_REQ_USART1_RX 50u
#define DMAMUX_REQ_USART1_TX 51u
#define DMAMUX_REQ_USART2_RX 52u
#define DMAMUX_REQ_USART2_TX 53u

/* ---- DBGMCU -------------------------------------------------------- */
typedef struct {
    REG32 IDCODE;    /* 0x00: DEV_ID [11:0], REV_ID [31:16] */
    REG32 CR;        /* 0x04 */
    REG32 APB_FZ1;   /* 0x08 */
} dbgmcu_t;
#define DBGMCU ((dbgmcu_t *)DBGMCU_BASE)
#define DBGMCU_IDCODE_DEV_ID(v) ((uint16_t)((v) & 0xFFFu))
#define DBGMCU_IDCODE_REV_ID(v) ((uint16_t)((v) >> 16))
#define DBGMCU_APB_FZ1_DBG_IWDG_STOP (1u << 12) /* IWDG frozen while the core is halted */

/* ---- IWDG (RM0444 §24) ---------------------------------------------- */
typedef struct {
    REG32 KR;        /* 0x00: keys */
    REG32 PR;        /* 0x04: prescaler, /4 << PR */
    REG32 RLR;       /* 0x08: reload, 12 bits */
    REG32 SR;        /* 0x0C: PVU, RVU, WVU: an update is crossing to LSI */
    REG32 WINR;      /* 0x10 */
} iwdg_t;
#define IWDG ((iwdg_t *)IWDG_BASE)
#define IWDG_KEY_START  0xCCCCu
#define IWDG_KEY_RELOAD 0xAAAAu
#define IWDG_KEY_UNLOCK 0x5555u
#define IWDG_SR_BUSY    0x7u

/* ---- Cortex-M0+ system peripherals (ARMv6-M ARM, B3) ---------------- */
typedef struct {
    REG32 CSR;       /* 0xE000E010 */
    REG32 RVR;
    REG32 CVR;
    REG32 CALIB;
} systick_t;
#define SYSTICK ((systick_t *)0xE000E010u)
#define SYSTICK_CSR_ENABLE    (1u << 0)
#define SYSTICK_CSR_TICKINT   (1u << 1)
#define SYSTICK_CSR_CLKSOURCE (1u << 2) /* processor clock */
#define SYSTICK_MAX           0x00FFFFFFu

typedef struct {
    REG32 ISER;      /* 0xE000E100 */
    REG32 RESERVED0[31];
    REG32 ICER;      /* 0xE000E180 */
    REG32 RESERVED1[31];
    REG32 ISPR;      /* 0xE000E200 */
    REG32 RESERVED2[31];
    REG32 ICPR;      /* 0xE000E280 */
    REG32 RESERVED3[95];
    REG32 IPR[8];    /* 0xE000E400 */
} nvic_t;
#define NVIC ((nvic_t *)0xE000E100u)

typedef struct {
    REG32 CPUID;     /* 0xE000ED00 */
    REG32 ICSR;
    REG32 VTOR;
    REG32 AIRCR;
    REG32 SCR;
    REG32 CCR;
    REG32 RESERVED;
    REG32 SHPR2;
    REG32 SHPR3;
} scb_t;
#define SCB ((scb_t *)0xE000ED00u)
#define SCB_AIRCR_VECTKEY     (0x05FAu << 16)
#define SCB_AIRCR_SYSRESETREQ (1u << 2)

/* ---- interrupt numbers (RM0444 vector table) ----------------------- */
#define IRQN_DMA1_CHANNEL1    9
#define IRQN_DMA1_CHANNEL2_3  10
#define IRQN_DMA1_CH4_7       11
#define IRQN_USART1           27
#define IRQN_USART2           28

#endif
