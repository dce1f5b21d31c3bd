/**
 * Batched execution stops where an event falls due, even one a device
 * schedules in the middle of a batch: the interrupt it raises is taken at
 * the same cycle as when the core runs one instruction at a time.
 */
import { describe, expect, it } from 'vitest';
import type { MemoryMappedDevice } from './bus.ts';
import { FLASH_BASE, FLASH_SIZE, type Machine } from './machine.ts';
import { boot } from './test-support/board.ts';
import { addsImm, b, movsImm, str } from './test-support/thumb.ts';

const DEVICE = 0x4000_0000;
const NVIC_ISER = 0xe000_e100;
/** The default handler of IRQ 0 (exception 16) is `BKPT 16`. */
const IRQ0_BKPT = 16;

/**
 * Enables IRQ 0, writes the device (which schedules the interrupt
 * `delayNs` later), then counts in r0 until the interrupt comes.
 */
function machine(delayNs: number, waitStates: number): Machine {
  const m = boot([
    str(2, 1, 0), // NVIC_ISER = 1
    str(2, 3, 0), // the device schedules IRQ 0
    movsImm(0, 0),
    addsImm(0, 1), // loop
    b(-6),
  ]);
  const timer: MemoryMappedDevice = {
    name: 'timer',
    read: () => 0,
    write: () => {
      m.clock.schedule(delayNs, () => m.cpu.nvic.line(0).set(true));
    },
  };
  m.bus.mapDevice(DEVICE, 0x400, timer);
  m.cpu.r[1] = NVIC_ISER;
  m.cpu.r[2] = 1;
  m.cpu.r[3] = DEVICE;
  if (waitStates > 0)
    m.cpu.setFetchTiming({
      base: FLASH_BASE,
      size: FLASH_SIZE,
      waitStates,
      lineBytes: 8,
      prefetch: false,
      cacheLines: 0,
    });
  return m;
}

function interrupted(m: Machine, mode: 'run' | 'step'): { cycles: number; count: number } {
  const cpu = m.cpu;
  let res = mode === 'run' ? cpu.run(1e9) : cpu.step();
  while (mode === 'step' && res.reason === 'step') res = cpu.step();
  if (res.reason !== 'breakpoint' || res.imm !== IRQ0_BKPT)
    throw new Error(`ended with ${JSON.stringify(res)}`);
  // r0 as the interrupt found it: stacked at the bottom of the frame.
  return { cycles: cpu.cycles, count: m.bus.read(cpu.sp, 4) };
}

describe('an event scheduled during a batch', () => {
  it('interrupts at the cycle it does when the core runs one instruction at a time', () => {
    for (const waitStates of [0, 2])
      for (const delayNs of [1, 40, 333, 1000, 4321, 100_000]) {
        const batched = interrupted(machine(delayNs, waitStates), 'run');
        const stepped = interrupted(machine(delayNs, waitStates), 'step');
        expect(batched, `${delayNs} ns, ${waitStates} wait states`).toEqual(stepped);
        expect(batched.count).toBeGreaterThanOrEqual(Math.floor(delayNs / 1000)); // it ran meanwhile
      }
  });
});
