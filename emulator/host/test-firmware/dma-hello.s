    .syntax unified
    .cpu cortex-m0plus
    .thumb
    .section .text
    .word 0x20009000
    .word reset + 1
reset:
    ldr r0, =0x40022000           @ FLASH_ACR: LATENCY 2 before 64 MHz
    ldr r1, [r0]
    movs r2, #7
    bics r1, r2
    adds r1, #2
    str r1, [r0]
    ldr r0, =0x40021000           @ RCC
    ldr r1, =0x30000802           @ PLLCFGR: HSI16 / 1 x 8 / 2, R enabled
    str r1, [r0, #0x0c]
    ldr r1, [r0]
    ldr r2, =(1 << 24)            @ PLLON
    orrs r1, r2
    str r1, [r0]
    ldr r2, =(1 << 25)            @ wait PLLRDY
1:  ldr r1, [r0]
    tst r1, r2
    beq 1b
    movs r1, #2
    str r1, [r0, #0x08]           @ CFGR: SW = PLLRCLK
    movs r2, #0x38
2:  ldr r1, [r0, #0x08]           @ wait SWS = PLLRCLK
    ands r1, r2
    cmp r1, #0x10
    bne 2b
    movs r1, #1
    str r1, [r0, #0x34]           @ IOPENR = GPIOAEN
    str r1, [r0, #0x38]           @ AHBENR = DMA1EN
    ldr r1, =(1 << 17)
    str r1, [r0, #0x3c]           @ APBENR1 = USART2EN
    ldr r0, =0x50000000           @ GPIOA: PA2, PA3 alternate function 1
    ldr r1, [r0]
    movs r2, #0xf0
    bics r1, r2
    movs r2, #0xa0
    orrs r1, r2
    str r1, [r0]
    ldr r1, [r0, #0x20]
    ldr r2, =0xff00
    bics r1, r2
    ldr r2, =0x1100
    orrs r1, r2
    str r1, [r0, #0x20]
    ldr r0, =0x40020800           @ DMAMUX1 C0CR = 53, USART2_TX
    movs r1, #53
    str r1, [r0]
    ldr r0, =0x40020000           @ DMA1 channel 1
    ldr r1, =0x40004428
    str r1, [r0, #0x10]           @ CPAR = USART2_TDR
    adr r1, hello
    str r1, [r0, #0x14]           @ CMAR
    movs r1, #5
    str r1, [r0, #0x0c]           @ CNDTR
    movs r1, #0x93
    str r1, [r0, #0x08]           @ CCR = MINC | DIR | TCIE | EN
    ldr r3, =0x40004400           @ USART2
    ldr r1, =556
    str r1, [r3, #0x0c]           @ BRR: 115200 from 64 MHz
    movs r1, #0x80
    str r1, [r3, #0x08]           @ CR3 = DMAT
    movs r1, #9
    str r1, [r3]                  @ CR1 = UE | TE
    movs r2, #2
3:  ldr r1, [r0]                  @ wait DMA ISR.TCIF1
    tst r1, r2
    beq 3b
    movs r2, #0x40
4:  ldr r1, [r3, #0x1c]           @ wait USART ISR.TC
    tst r1, r2
    beq 4b
    bkpt 0
    .align 2
hello:
    .asciz "hello"
    .align 2
    .pool
