/* What the board allows (PROTOCOL.md 6): the register allow-list, value
 * checks, DMA start checks, arena bounds and BUSY. Every register access
 * made on behalf of the host goes through here. */
#ifndef POLICY_H
#define POLICY_H

#include <stdbool.h>
#include <stdint.h>

void policy_init(uint32_t arena_base, uint32_t arena_size);
/* Forgets the channel ranges recorded at start (RESET_PERIPHERALS). */
void policy_reset(void);

/* Returns a status (protocol.h). detail receives the refusal's detail:
 * the address for REG_NOT_ALLOWED / VALUE_NOT_ALLOWED, the reason for
 * DMA_START_REFUSED. */
uint8_t policy_reg_read(uint32_t addr, uint32_t *value, uint32_t *detail);
uint8_t policy_reg_write(uint32_t addr, uint32_t value, uint32_t *detail);
uint8_t policy_reg_masked_write(uint32_t addr, uint32_t mask, uint32_t value, uint32_t *detail);

/* Whole range inside the arena (non-empty, no wraparound). */
bool policy_in_arena(uint32_t addr, uint32_t len);
/* MEM_WRITE: OUT_OF_ARENA, BUSY or OK. */
uint8_t policy_mem_write_check(uint32_t addr, uint32_t len);

#endif
