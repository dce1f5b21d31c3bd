/* A fake chip for host tests and the fuzzer: a register file holding the
 * bridge's registers, an arena array, a transmit buffer, a clock, and a
 * log of every register access and barrier in order. It checks, on its
 * own terms, the invariants the protocol core must keep. */
#ifndef FAKE_PLATFORM_H
#define FAKE_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../src/platform.h"

#define FAKE_ARENA_BASE 0x20001000u
#define FAKE_ARENA_SIZE (28u * 1024u)
#define FAKE_BOOT_EPOCH 0x12345678u

enum fake_op {
    FK_REG_READ = 1,
    FK_REG_WRITE,
    FK_MEM_READ,
    FK_MEM_WRITE,
    FK_DSB,
    FK_DMB,
    FK_RESET,
};

struct fake_entry {
    enum fake_op op;
    uint32_t addr;
    uint32_t value; /* register value, or memory length */
};

#define FAKE_LOG_MAX 4096
extern struct fake_entry fake_log[FAKE_LOG_MAX];
extern size_t fake_log_len;       /* saturates at FAKE_LOG_MAX */
extern unsigned long fake_reg_writes;
extern unsigned long fake_mem_writes;

extern uint8_t fake_arena[FAKE_ARENA_SIZE];

#define FAKE_TX_MAX (1u << 16)
extern uint8_t fake_tx[FAKE_TX_MAX];
extern size_t fake_tx_len;
extern unsigned fake_irq_locked;  /* plat_irq_lock nesting depth */
/* The host link: its rate, the last SET_LINK_BAUD switch asked for, frames
 * with a good CRC. */
extern uint32_t fake_link_baud;
/* The boot epoch plat_hello_info reports (FAKE_BOOT_EPOCH after fake_reset). */
extern uint32_t fake_boot_epoch;
extern uint32_t fake_link_switch_to;
/* What plat_board_status reports (zeroed by fake_reset). */
extern struct plat_status fake_status;
/* The chip keeps CCR.EN of channel 1 or 2 clear on the next starts, as if a
 * transfer error flag were raised behind the start checks' back. */
extern bool fake_en_stuck[2];
/* Bits `set` appear in register `addr` once the fake clock reaches `at_us`. */
struct fake_change {
    uint32_t addr;
    uint32_t set;
    uint32_t at_us;
};
extern struct fake_change fake_changes[4];
extern unsigned long fake_link_frames_ok;
/* Room in the transmit queue; a reservation larger than this waits (the
 * fake counts the wait and drains the queue). */
extern size_t fake_tx_room;
extern unsigned long fake_tx_waits;

extern uint32_t fake_micros_now;
extern uint32_t fake_micros_step; /* added at every plat_micros() call */

/* Invariant violations seen (description of the first one). */
extern unsigned fake_violations;
extern const char *fake_violation_what;
/* abort() at the first violation (the fuzzer sets it). */
extern bool fake_abort_on_violation;

/* Moves channel ch's DMA by `items` (CNDTR counts down, HT and TC flags
 * set, circular reload; a DIR = 0 channel writes 0xD5 into the arena), or
 * raises a transfer error (EN cleared, TEIF set). Nothing when disabled. */
void fake_dma_step(unsigned ch, uint32_t items, bool error);

/* Back to the reset state: registers, arena zeroed, log, tx, clock. */
void fake_reset(void);
uint32_t fake_get(uint32_t addr);
void fake_set(uint32_t addr, uint32_t value);
void fake_log_clear(void);
/* Index of the first log entry matching op (and addr unless addr is ~0),
 * from index from; -1 if none. */
long fake_log_find(size_t from, enum fake_op op, uint32_t addr);

#endif
