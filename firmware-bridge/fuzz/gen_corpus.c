/* Writes seed inputs (fuzz_input.h format) built from valid requests into
 * the directory given as argv[1]. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../src/core/protocol.h"
#include "../src/stm32g071.h"
#include "fuzz_input.h"

static uint8_t buf[8192];
static size_t len;

static void begin(uint8_t flags)
{
    len = 0;
    buf[len++] = flags;
}

static void rec(uint8_t kind, const uint8_t *p, size_t n)
{
    buf[len++] = kind;
    buf[len++] = (uint8_t)n;
    buf[len++] = (uint8_t)(n >> 8);
    memcpy(buf + len, p, n);
    len += n;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static void next(uint8_t type, const uint8_t *payload, size_t n)
{
    uint8_t tmp[1100];
    tmp[0] = type;
    memcpy(tmp + 1, payload, n);
    rec(FZ_NEXT, tmp, n + 1);
}

static void reg_write(uint32_t a, uint32_t v)
{
    uint8_t p[8];
    put32(put32(p, a), v);
    next(T_REG_WRITE, p, 8);
}

static int nfiles;
static const char *dir;

static void save(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/seed-%02d", dir, nfiles++);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        perror(path);
        return;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    uint8_t p[1100], *q;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];

    /* HELLO and PING */
    begin(0);
    rec(FZ_FRAME, (const uint8_t[]){ T_HELLO, 0x34, 0x12 }, 3);
    rec(FZ_FRAME, (const uint8_t[]){ T_PING, 0x35, 0x12, 1, 2, 3 }, 6);
    save();

    /* a transmit DMA start on channel 1, then a read-back and events */
    begin(FZ_FLAG_OPEN);
    q = put32(p, 0x20001000u);
    memset(q, 0x41, 32);
    next(T_MEM_WRITE, p, 36);
    reg_write(DMA1_CPAR_ADDR(1), USART1_TDR_ADDR);
    reg_write(DMA1_CMAR_ADDR(1), 0x20001000u);
    reg_write(DMA1_CNDTR_ADDR(1), 32);
    reg_write(DMAMUX1_CCR_ADDR(0), DMAMUX_REQ_USART1_TX);
    reg_write(DMA1_CCR_ADDR(1), DMA_CCR_EN | DMA_CCR_DIR | DMA_CCR_MINC | DMA_CCR_TCIE);
    next(T_MEM_WRITE, p, 8);
    rec(FZ_DMA, (const uint8_t[]){ 0, 16 }, 2); /* channel 1 halfway */
    reg_write(DMA1_CCR_ADDR(1), DMA_CCR_EN | DMA_CCR_DIR | DMA_CCR_MINC); /* BUSY */
    next(T_MEM_WRITE, p, 40);                    /* BUSY: the DMA still reads it */
    rec(FZ_EVENTS, (const uint8_t[]){ 1, 0, 2, 0, 0x93, 0, 0, 0 }, 8);
    rec(FZ_DMA, (const uint8_t[]){ 0, 16, 1, 4, 3, 0 }, 6); /* done; ch 2 TE */
    q = put32(p, 0x20001000u);
    q[0] = 32;
    q[1] = 0;
    next(T_MEM_READ, p, 6);
    next(T_RESET_PERIPHERALS, p, 0);
    save();

    /* a receive start on channel 2 in one batch, with a POLL */
    begin(FZ_FLAG_OPEN);
    q = p;
    *q++ = OP_WRITE;
    q = put32(put32(q, DMA1_CPAR_ADDR(2)), USART1_RDR_ADDR);
    *q++ = OP_WRITE;
    q = put32(put32(q, DMA1_CMAR_ADDR(2)), 0x20002000u);
    *q++ = OP_WRITE;
    q = put32(put32(q, DMA1_CNDTR_ADDR(2)), 64);
    *q++ = OP_WRITE;
    q = put32(put32(q, DMAMUX1_CCR_ADDR(1)), DMAMUX_REQ_USART1_RX);
    *q++ = OP_MASKED_WRITE;
    q = put32(put32(put32(q, DMA1_CCR_ADDR(2)), 0xFFFF), DMA_CCR_EN | DMA_CCR_MINC | DMA_CCR_CIRC | DMA_CCR_HTIE);
    *q++ = OP_READ;
    q = put32(q, DMA1_ISR_ADDR);
    *q++ = OP_POLL;
    q = put32(put32(put32(q, USART1_ISR_ADDR), 0x40), 0x40);
    *q++ = 10;
    *q++ = 0;
    next(T_REG_BATCH, p, (size_t)(q - p));
    q = put32(p, 0x20002010u);
    next(T_MEM_WRITE, p, 8);
    save();

    /* channel 1 transmits; channel 2 is started over its memory (refused
     * both ways), then beside it */
    begin(FZ_FLAG_OPEN);
    reg_write(DMA1_CPAR_ADDR(1), USART1_TDR_ADDR);
    reg_write(DMA1_CMAR_ADDR(1), 0x20001100u);
    reg_write(DMA1_CNDTR_ADDR(1), 64);
    reg_write(DMAMUX1_CCR_ADDR(0), DMAMUX_REQ_USART1_TX);
    reg_write(DMA1_CCR_ADDR(1), DMA_CCR_EN | DMA_CCR_DIR | DMA_CCR_MINC);
    rec(FZ_DMA, (const uint8_t[]){ 0, 8 }, 2);
    reg_write(DMA1_CPAR_ADDR(2), USART1_RDR_ADDR);
    reg_write(DMA1_CMAR_ADDR(2), 0x20001120u);
    reg_write(DMA1_CNDTR_ADDR(2), 64);
    reg_write(DMAMUX1_CCR_ADDR(1), DMAMUX_REQ_USART1_RX);
    reg_write(DMA1_CCR_ADDR(2), DMA_CCR_EN | DMA_CCR_MINC);          /* refused: overlap */
    reg_write(DMA1_CPAR_ADDR(2), USART1_TDR_ADDR);
    reg_write(DMAMUX1_CCR_ADDR(1), DMAMUX_REQ_USART1_TX);
    reg_write(DMA1_CCR_ADDR(2), DMA_CCR_EN | DMA_CCR_DIR | DMA_CCR_MINC); /* refused too */
    reg_write(DMA1_CMAR_ADDR(2), 0x20001140u);
    reg_write(DMA1_CCR_ADDR(2), DMA_CCR_EN | DMA_CCR_DIR | DMA_CCR_MINC);
    rec(FZ_DMA, (const uint8_t[]){ 1, 64, 0, 56 }, 4);
    save();

    /* USART1 set-up, refusals, retransmission, a gap */
    begin(FZ_FLAG_OPEN);
    reg_write(USART1_BASE + 0x0C, 556);
    reg_write(USART1_CR3_ADDR, USART_CR3_EIE | (1u << 6) | (1u << 7));
    reg_write(USART1_CR1_ADDR, USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_IDLEIE);
    reg_write(USART1_CR1_ADDR, USART_CR1_RXNEIE);
    reg_write(DMA1_IFCR_ADDR, 0x100);
    rec(FZ_FRAME, (const uint8_t[]){ T_PING, 2, 0 }, 3);
    rec(FZ_FRAME, (const uint8_t[]){ T_PING, 40, 0 }, 3);
    rec(FZ_EVENTS, (const uint8_t[]){ 0x80, 0, 0x10, 5, 0xD0, 0, 0, 0 }, 8);
    save();

    /* raw garbage, an empty frame, a bad CRC */
    begin(FZ_FLAG_OPEN);
    rec(FZ_RAW, (const uint8_t[]){ 0, 0, 0x12, 0x34, 0, 0x05, 0x01, 0x02, 0x01, 0x00, 0x00 }, 11);
    save();

    /* the largest request */
    begin(FZ_FLAG_OPEN);
    q = put32(p, 0x20001000u);
    memset(q, 0x00, MAX_MEM_WRITE);
    next(T_MEM_WRITE, p, 4 + MAX_MEM_WRITE);
    save();

    printf("%d seeds in %s\n", nfiles, dir);
    return 0;
}
