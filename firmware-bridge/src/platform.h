/*
 * The seam between the protocol core and the machine it runs on.
 * src/platform_stm32.c implements it for the chip; test/fake_platform.c
 * implements it over a fake register file for host tests and the fuzzer.
 * The core (src/core/) reaches hardware only through these calls.
 */
#ifndef PLATFORM_H
#define PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 32-bit register access. The core calls these only for allow-listed
 * addresses (PROTOCOL.md 6). */
uint32_t plat_reg_read(uint32_t addr);
void plat_reg_write(uint32_t addr, uint32_t value);

/* Arena memory. The core calls these only for ranges inside the arena. */
void plat_mem_read(uint32_t addr, uint8_t *dst, size_t n);
void plat_mem_write(uint32_t addr, const uint8_t *src, size_t n);

/* Masks interrupts (PRIMASK) and returns what to restore: a consistent
 * snapshot of state the interrupt handlers change (event queue, DMA
 * completion counts). Nests. */
uint32_t plat_irq_lock(void);
void plat_irq_unlock(uint32_t key);

/* Barriers (PROTOCOL.md 7). */
void plat_dsb(void);
void plat_dmb(void);

/* Free-running microsecond clock for batch POLL timeouts (wraps). */
uint32_t plat_micros(void);

/* RESET_PERIPHERALS: disable DMA1 channels 1-2 and clear their flags,
 * clear DMAMUX1 C0CR/C1CR, reset USART1 through RCC. */
void plat_reset_peripherals(void);

struct plat_info {
    uint16_t dev_id;
    uint16_t rev_id;
    uint8_t uid[12];
    uint32_t arena_base;
    uint32_t arena_size;
    uint32_t boot_epoch;
    uint32_t usart1_clock_hz;
    uint32_t link_baud;      /* the host link's rate now */
    uint32_t boot_link_baud; /* the rate at boot, and after a fallback */
    uint16_t rx_buffer;      /* request bytes the host may have in flight */
    uint8_t rate_count;
    const uint32_t *rates;   /* SET_LINK_BAUD's rates, ascending */
};
void plat_hello_info(struct plat_info *info);

/* BOARD_STATUS: the board's health since boot (PROTOCOL.md 2). */
struct plat_status {
    uint32_t reset_flags;     /* RCC_CSR's reset flags [31:25] as found at boot */
    uint32_t link_rx_dropped; /* host-link bytes lost: receive ring lapped, or overrun */
    uint32_t link_rx_errors;  /* host-link characters with framing, noise or parity errors */
    uint32_t link_fallbacks;  /* times the link went back to its boot rate */
    uint32_t fault_pc;        /* PC of the last HardFault before this boot, 0 if none */
    uint32_t fault_count;     /* HardFaults since power-up */
    uint32_t link_frames_dropped; /* request frames refused as damaged or cut off by a rate switch */
};
void plat_board_status(struct plat_status *st);

/* SET_LINK_BAUD accepted (`baud` is one of plat_info's rates): the link
 * switches once everything queued for the host has left, then falls back
 * to the boot rate unless a valid frame arrives at the new rate in time
 * (PROTOCOL.md 2). */
void plat_link_switch(uint32_t baud);
/* A frame with good COBS and CRC arrived: the rate in use works. */
void plat_link_frame_ok(void);
/* A request frame was dropped: refused with a NAK (too large, bad COBS or
 * length, bad CRC, another version, a type that is no request) or cut off
 * by a rate switch. Counted for BOARD_STATUS. */
void plat_link_frame_dropped(void);

/* Host-link transmit queue. plat_tx_reserve blocks until the queue has
 * room for n bytes (nothing the board sends is dropped: replies and
 * events alike wait for the transmitter). The reserved bytes are then
 * given with plat_tx_put and released to the transmitter by
 * plat_tx_commit. */
void plat_tx_reserve(size_t n);
void plat_tx_put(uint8_t b);
void plat_tx_commit(void);

#endif
