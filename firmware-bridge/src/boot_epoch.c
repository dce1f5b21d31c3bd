#include "boot_epoch.h"

#include "stm32g071.h"

#define NOINIT_MAGIC 0xB0075EEDu

/* Not zeroed at start-up: survives a reset (not a power cycle). */
static struct {
    uint32_t magic;
    uint32_t epoch;
    uint32_t check;       /* ~epoch: a random power-up pattern rarely passes */
    uint32_t fault_pc;    /* PC of the last HardFault, 0 if none */
    uint32_t fault_count;
    uint32_t link_baud;   /* the host link's rate when the reset came */
    uint32_t link_check;  /* ~link_baud */
} noinit __attribute__((section(".noinit")));

static uint32_t mix(uint32_t h, uint32_t v)
{
    /* murmur3's finaliser steps: every input bit reaches every output bit */
    h ^= v;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

void boot_epoch_update(void)
{
    if (noinit.magic == NOINIT_MAGIC && noinit.check == ~noinit.epoch) {
        noinit.epoch++;
    } else {
        /* power-up: mix the unique ID with whatever SRAM held */
        const volatile uint32_t *uid = (const volatile uint32_t *)UID_BASE;
        uint32_t h = 0x9E3779B9u;
        for (int i = 0; i < 3; i++)
            h = mix(h, uid[i]);
        h = mix(h, noinit.magic);
        h = mix(h, noinit.epoch);
        h = mix(h, noinit.check);
        h = mix(h, noinit.fault_pc);
        h = mix(h, noinit.fault_count);
        noinit.magic = NOINIT_MAGIC;
        noinit.epoch = h;
        noinit.fault_pc = 0;
        noinit.fault_count = 0;
        noinit.link_baud = 0;
        noinit.link_check = ~0u;
    }
    noinit.check = ~noinit.epoch;
}

uint32_t boot_epoch(void)
{
    return noinit.epoch;
}

uint32_t boot_kept_link_baud(void)
{
    return noinit.link_check == ~noinit.link_baud ? noinit.link_baud : 0u;
}

void boot_keep_link_baud(uint32_t baud)
{
    noinit.link_baud = baud;
    noinit.link_check = ~baud;
}

uint32_t boot_fault_pc(void)
{
    return noinit.fault_pc;
}

uint32_t boot_fault_count(void)
{
    return noinit.fault_count;
}

void boot_note_fault(uint32_t pc)
{
    noinit.fault_pc = pc;
    noinit.fault_count++;
}
