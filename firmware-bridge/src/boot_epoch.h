/* Boot epoch (PROTOCOL.md 8) and the last fault, kept in .noinit. */
#ifndef BOOT_EPOCH_H
#define BOOT_EPOCH_H

#include <stdint.h>

/* Once per boot, before anything reads the epoch. */
void boot_epoch_update(void);
uint32_t boot_epoch(void);
/* Records the faulting PC; read back after the reset that follows. */
void boot_note_fault(uint32_t pc);

#endif
