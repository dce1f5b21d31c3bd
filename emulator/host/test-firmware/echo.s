    .syntax unified
    .cpu cortex-m0plus
    .thumb
    .section .text
vectors:
    .word 0x20009000
    .word reset + 1
    .rept 42
    .word fault + 1
    .endr
    .word usart2_irq + 1          @ vector 44: IRQ 28, USART2
    .rept 2
    .word fault + 1
    .endr
reset:
    ldr r0, =0x40021000           @ RCC
    movs r1, #1
    str r1, [r0, #0x34]           @ IOPENR = GPIOAEN
    ldr r1, =(1 << 17)
    str r1, [r0, #0x3c]           @ APBENR1 = USART2EN
    ldr r0, =0x50000000           @ GPIOA
    ldr r1, [r0]                  @ MODER: PA2, PA3 alternate function
    movs r2, #0xf0
    bics r1, r2
    movs r2, #0xa0
    orrs r1, r2
    str r1, [r0]
    ldr r1, [r0, #0x20]           @ AFRL: PA2, PA3 AF1
    ldr r2, =0xff00
    bics r1, r2
    ldr r2, =0x1100
    orrs r1, r2
    str r1, [r0, #0x20]
    ldr r0, =0x40004400           @ USART2
    movs r1, #139
    str r1, [r0, #0x0c]           @ BRR: 115200 baud from 16 MHz HSI16
    movs r1, #0x2d
    str r1, [r0]                  @ CR1 = UE | RE | TE | RXNEIE
    movs r1, #'B'
    str r1, [r0, #0x28]           @ TDR: a boot banner
    ldr r2, =0xe000e100
    ldr r1, =(1 << 28)
    str r1, [r2]                  @ NVIC_ISER: USART2
idle:
    wfi
    b idle
usart2_irq:
    ldr r0, =0x40004400
    ldr r1, [r0, #0x24]           @ RDR
    str r1, [r0, #0x28]           @ TDR: echo
    bx lr
fault:
    b fault
    .pool
