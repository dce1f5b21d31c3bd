/**
 * The bridge firmware's independent watchdog on the virtual board: started
 * at boot and frozen under a debugger, fed by an idle board (also at the
 * 16 MHz fallback clock, whose SysTick wakes are the slowest), and a
 * firmware stuck in a loop resets, says so in BOARD_STATUS and serves again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Board, DeviceResetError, LinkTimeoutError } from '../driver/index.ts';
import { VirtualBoard, type VirtualBoardOptions } from '../emulator/index.ts';
import { DBGMCU } from '../emulator/stm32g071/dbgmcu.ts';
import { IWDG } from '../emulator/stm32g071/iwdg.ts';
import { loadFirmware } from './support/firmware.ts';
import { buildMutantFirmware } from './support/mutant-firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

const PWRRSTF = 1 << 27;
const IWDGRSTF = 1 << 29;
const DBG_IWDG_STOP = 1 << 12;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(options: VirtualBoardOptions): Promise<{ vb: VirtualBoard; board: Board }> {
  const vb = new VirtualBoard(options);
  vb.start();
  cleanups.push(() => vb.dispose());
  const board = await Board.open(vb.hostPort(), { timers: virtualTimers(vb), linkBaud: 'boot' });
  cleanups.push(() => board.close());
  return { vb, board };
}

const wait = (vb: VirtualBoard, ms: number) =>
  new Promise<void>((resolve) => virtualTimers(vb).setTimeout(resolve, ms));

describe('the watchdog (IWDG)', () => {
  it('runs from boot with a timeout of about 1.5 s, frozen while a debugger halts the core', async () => {
    const { vb } = await open({ firmware: loadFirmware() });
    const { iwdg, dbgmcu } = vb.chip;
    expect(iwdg.started).toBe(true);
    expect(iwdg.read(IWDG.PR, 4)).toBe(4); // LSI / 64: 2 ms a tick
    expect(iwdg.read(IWDG.RLR, 4)).toBe(749); // 750 ticks: 1.5 s
    expect(dbgmcu.read(DBGMCU.APB_FZ1, 4) & DBG_IWDG_STOP).toBe(DBG_IWDG_STOP);
    expect(iwdg.misuse.size).toBe(0);
  });

  for (const [clock, options] of [
    ['64 MHz', {}],
    ['the 16 MHz fallback clock', { pllLockNs: 1e12 }],
  ] as const) {
    it(`is fed by an idle board at ${clock}: ten quiet seconds bring no reset`, async () => {
      const { vb, board } = await open({ firmware: loadFirmware(), ...options });
      await wait(vb, 10_000);
      const s = await board.status();
      expect(s.resetFlags & (PWRRSTF | IWDGRSTF)).toBe(PWRRSTF);
      expect(vb.chip.iwdg.counter).toBeGreaterThan(0);
    });
  }

  it('resets a firmware stuck in a loop; BOARD_STATUS then names the watchdog and the board serves again', async () => {
    // The second BOARD_STATUS of a boot never returns: the main loop stops coming round.
    const stuck = buildMutantFirmware('stuck-in-status', [
      {
        file: 'src/platform_stm32.c',
        find: 'void plat_board_status(struct plat_status *st)\n{',
        replace:
          'void plat_board_status(struct plat_status *st)\n{\n    static unsigned calls;\n    if (++calls == 2)\n        for (;;) {\n        }',
      },
    ]);
    const { vb, board } = await open({ firmware: stuck });
    expect((await board.status()).resetFlags & IWDGRSTF).toBe(0);
    const hungAt = vb.nowNs;
    const failed = await board.status().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed instanceof LinkTimeoutError || failed instanceof DeviceResetError).toBe(true);
    await board.recover();
    const bootedAt = vb.nowNs;
    const after = await board.status();
    expect(after.resetFlags & IWDGRSTF).toBe(IWDGRSTF);
    // Not before the watchdog's 1.5 s: nothing else reset the board.
    expect(bootedAt - hungAt).toBeGreaterThan(1.4e9);
    await board.ping();
    // The strict board says the watchdog reset it, and where the core was stuck.
    expect(vb.strictReports.map((r) => r.rule)).toEqual(['watchdog-reset']);
    expect(vb.strictReports[0]!.message).toMatch(
      /^IWDG not reloaded within its 1\.5 s timeout: it reset the chip \(RCC_CSR\.IWDGRSTF\); the core was at PC 0x080[0-9A-F]{5} \(\w+\), in thread mode$/,
    );
    vb.chip.strict.clear();
  });
});
