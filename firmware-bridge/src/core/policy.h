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

/* A consistent snapshot of DMA1 channel `channel` (1 or 2), interrupts
 * masked while it is taken (PROTOCOL.md 2, REG_BATCH STATUS):
 * v[0] CCR; v[1] CNDTR | completions << 16, completions counting the HT
 * and TC flags already reported plus those raised and not yet handled;
 * v[2] the channel's DMA1_ISR nibble | its start count (events.h) << 16;
 * v[3] USART1_ISR. Any other channel
 * is REG_NOT_ALLOWED (detail: the channel number). */
uint8_t policy_channel_status(uint8_t channel, uint32_t v[4], uint32_t *detail);

/* Whole range inside the arena (non-empty, no wraparound). */
bool policy_in_arena(uint32_t addr, uint32_t len);
/* MEM_WRITE: OUT_OF_ARENA, BUSY or OK. */
uint8_t policy_mem_write_check(uint32_t addr, uint32_t len);

#endif
