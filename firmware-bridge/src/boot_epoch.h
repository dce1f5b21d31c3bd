/* Boot epoch (PROTOCOL.md 8) and the last fault, kept in .noinit. */
#ifndef BOOT_EPOCH_H
#define BOOT_EPOCH_H

#include <stdint.h>

/* Once per boot, before anything reads the epoch. */
void boot_epoch_update(void);
uint32_t boot_epoch(void);
/* The host link's rate before a reset (0 after a power-up), and keeping it. */
uint32_t boot_kept_link_baud(void);
void boot_keep_link_baud(uint32_t baud);
/* Records the faulting PC; read back after the reset that follows. */
void boot_note_fault(uint32_t pc);
/* The last HardFault's PC (0 if none) and the HardFaults since power-up. */
uint32_t boot_fault_pc(void);
uint32_t boot_fault_count(void);

#endif
