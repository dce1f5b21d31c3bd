/**
 * The debug target on the chip and on the virtual board running the bridge
 * firmware, in process: reads without side effects, the whole chip held
 * with its time standing still, watchpoints on a peripheral register that
 * only the DMA touches, reset halt.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Board } from '../../driver/index.ts';
import { loadFirmware } from '../../test/support/firmware.ts';
import { virtualTimers } from '../../test/support/virtual-timers.ts';
import type { RunResult } from '../core/cpu.ts';
import { VirtualBoard } from '../host/virtual-board.ts';
import { createStm32g071 } from '../stm32g071/chip.ts';
import { USART, USART1_BASE } from '../stm32g071/usart.ts';
import { boardDebugHost } from './board-host.ts';
import { CoreDebugTarget } from './core-target.ts';
import type { StopReason } from './target.ts';

let vb: VirtualBoard | undefined;
let board: Board | undefined;
afterEach(async () => {
  await board?.close().catch(() => {});
  await vb?.dispose();
  vb = undefined;
  board = undefined;
});

const word = (b: Uint8Array) => (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;

async function bridge() {
  vb = new VirtualBoard({ firmware: loadFirmware() });
  vb.start();
  board = await Board.open(vb.hostPort(), { timers: virtualTimers(vb), linkBaud: 'boot' });
  const target = new CoreDebugTarget(boardDebugHost(vb));
  const stops: StopReason[] = [];
  target.onStop = (r) => stops.push(r);
  return { vb, board, target, stops };
}

const realMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the debug target', () => {
  it("reads USART1's RDR without taking the character (RXNE stays set); the core's read takes it", () => {
    const chip = createStm32g071();
    const host = {
      cpu: chip.cpu,
      bus: chip.bus,
      held: true,
      hold() {},
      release() {},
      step: (): RunResult => chip.cpu.step(),
      reset() {},
      onRunStop: () => () => {},
    };
    const target = new CoreDebugTarget(host);
    chip.bus.write(0x4002_1040, 1 << 14, 4); // RCC_APBENR2.USART1EN
    chip.bus.write(0x4002_1034, 1 << 2, 4); // RCC_IOPENR.GPIOCEN
    const moder = chip.bus.read(0x5000_0800, 4);
    chip.bus.write(0x5000_0800, (moder & ~(3 << 10)) | (2 << 10), 4); // PC5: alternate function
    chip.bus.write(0x5000_0820, 1 << 20, 4); // AFRL: PC5 = AF1, USART1_RX
    chip.bus.write(USART1_BASE + USART.BRR, 139, 4);
    chip.bus.write(USART1_BASE + USART.CR1, 0b101, 4); // UE, RE
    chip.usart1.receive(0x41);
    chip.clock.advanceBy(200_000);
    const rxne = () => (word(target.readMemory(USART1_BASE + USART.ISR, 4)) >>> 5) & 1;
    expect(rxne()).toBe(1);
    expect(target.readMemory(USART1_BASE + USART.RDR, 4)[0]).toBe(0x41);
    expect(target.readMemory(USART1_BASE + USART.RDR, 1)[0]).toBe(0x41);
    expect(rxne()).toBe(1);
    expect(chip.bus.read(USART1_BASE + USART.RDR, 4)).toBe(0x41);
    expect(rxne()).toBe(0);
    expect(chip.strict.reports).toEqual([]);
  });

  it('holds the whole chip: virtual time stands still and a request waits, then is answered after resume', async () => {
    const { vb, board, target, stops } = await bridge();
    target.halt();
    expect(stops).toEqual([{ kind: 'interrupt' }]);
    expect(target.halted).toBe(true);
    const t0 = vb.nowNs;
    let answered = false;
    const ping = board.ping().then(() => {
      answered = true;
    });
    await realMs(50);
    expect(vb.nowNs).toBe(t0);
    expect(answered).toBe(false);
    target.resume();
    await ping;
    expect(answered).toBe(true);
    expect(vb.nowNs).toBeGreaterThan(t0);
  });

  it('stops on an access watchpoint on USART2_RDR, which only the DMA reads', async () => {
    const { board, target, stops } = await bridge();
    target.halt();
    target.addWatchpoint('read', 0x4000_4424, 4);
    target.resume();
    const ping = board.ping();
    for (let i = 0; i < 400 && stops.length < 2; i++) await realMs(5);
    expect(stops[1]).toEqual({ kind: 'watch', watch: 'read', address: 0x4000_4424 });
    target.removeWatchpoint('read', 0x4000_4424, 4);
    target.resume();
    await ping;
    target.detach();
  });

  it('resets and stays halted at the reset vector; breakpoints there are taken after', async () => {
    const { vb, target, stops } = await bridge();
    target.halt();
    target.reset();
    expect(target.halted).toBe(true);
    const entry = word(target.readMemory(0x0800_0004, 4)) & ~1;
    expect(target.readRegisters()[15]).toBe(entry);
    expect(target.readRegisters()[13]).toBe(word(target.readMemory(0x0800_0000, 4)));
    expect(target.step()).toEqual({ kind: 'step' });
    expect(target.readRegisters()[15]).not.toBe(entry);
    // A breakpoint a few instructions on: continue stops there, before it runs.
    const pcNow = target.readRegisters()[15]!;
    target.resume();
    target.halt();
    target.addBreakpoint(pcNow);
    target.reset();
    target.resume();
    for (let i = 0; i < 400 && stops.at(-1)?.kind !== 'breakpoint'; i++) await realMs(5);
    expect(stops.at(-1)).toEqual({ kind: 'breakpoint' });
    expect(target.readRegisters()[15]).toBe(pcNow);
    target.detach();
    expect(vb.held).toBe(false);
  });
});
