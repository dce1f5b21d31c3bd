/**
 * A small seeded random search: safe-API operations, NRST resets, reconnect
 * and recover over a link that drops, duplicates and delays bytes. After
 * every step the DMA channels are read from the virtual chip itself (not
 * through the link) and compared with the ledger: no region the ledger calls
 * free or owned may overlap memory an enabled channel still moves.
 */
import { describe, expect, it } from 'vitest';
import { Serial1 } from '../../driver/api/index.ts';
import type { DmaBuffer } from '../../driver/board/dma-buffer.ts';
import { Board } from '../../driver/board/index.ts';
import { FaultInjector, mulberry32 } from '../../driver/transport/index.ts';
import { VirtualBoard } from '../../emulator/index.ts';
import { FAST_BAUD } from '../support/api-fixtures.ts';
import { loadFirmware } from '../support/firmware.ts';
import { virtualTimers } from '../support/virtual-timers.ts';

const SEEDS = (process.env.MINI_SEEDS ?? '1,2,3').split(',').map(Number);
const STEPS = Number(process.env.MINI_STEPS ?? 60);
const CH = [
  { ccr: 0x4002_0008, cndtr: 0x4002_000c, cmar: 0x4002_0014 },
  { ccr: 0x4002_001c, cndtr: 0x4002_0020, cmar: 0x4002_0028 },
];

type Any = Record<string, unknown> & {
  wait?: (o?: unknown) => Promise<unknown>;
  stop?: () => Promise<unknown>;
  started?: Promise<void>;
};

async function runSeed(seed: number): Promise<string[]> {
  const rng = mulberry32(seed);
  const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: FAST_BAUD });
  vb.start();
  const timers = virtualTimers(vb);
  const sleep = (ms: number) => new Promise<void>((r) => timers.setTimeout(r, ms));
  const injector = new FaultInjector(vb.hostPort(), { seed, timers });
  const board = await Board.open(injector, { timers, retransmitTimeoutMs: 40, maxRetries: 4 });
  const mix = {
    drop: 1e-3,
    duplicate: 1e-3,
    delay: Number(process.env.MINI_DELAY ?? 2e-3),
    delayMs: Number(process.env.MINI_DELAY_MS ?? 30),
    delayMaxRun: 40,
  };
  injector.setFaults('toDevice', mix);
  injector.setFaults('fromDevice', mix);
  const violations: string[] = [];
  let serial: Serial1 | undefined;
  const owned: DmaBuffer[] = [];
  const ops: Any[] = [];
  const log: string[] = [];
  const check = (step: number, what: string) => {
    const bus = vb.chip.bus;
    const regions = board.arenaRegions();
    CH.forEach((c, i) => {
      const ccr = bus.read(c.ccr, 4) >>> 0;
      const cndtr = bus.read(c.cndtr, 4) & 0xffff;
      if ((ccr & 1) === 0 || (cndtr === 0 && (ccr & 0x20) === 0)) return;
      const size = 1 << ((ccr >> 10) & 3);
      const start = bus.read(c.cmar, 4) >>> 0;
      const end = start + ((ccr & 0x20) !== 0 ? 0 : 0) + cndtr * size;
      for (const r of regions) {
        if ((r.state === 'free' || r.state === 'owned') && r.address < end && start < r.address + r.length) {
          violations.push(
            `seed ${seed} step ${step} (${what}): channel ${i + 1} runs on 0x${start.toString(16)}+${end - start} ` +
              `but the ledger has 0x${r.address.toString(16)}+${r.length} ${r.state}; last ops: ${log.slice(-6).join(', ')}`,
          );
        }
      }
    });
  };
  try {
    for (let step = 0; step < STEPS && violations.length === 0; step++) {
      const k = rng.int(100);
      let what = '';
      try {
        if (!serial && k % 3 === 0) {
          what = 'take';
          serial = await Serial1.take(board, { baudRate: FAST_BAUD });
        } else if (k < 20) {
          what = 'alloc';
          owned.push(board.alloc(4 + 4 * rng.int(16)));
        } else if (k < 30 && owned.length > 0) {
          what = 'free';
          owned.splice(rng.int(owned.length), 1)[0]!.free();
        } else if (k < 50 && owned.length > 0 && serial) {
          const buf = owned.splice(rng.int(owned.length), 1)[0]!;
          const kind = rng.int(3);
          what = ['readExact', 'writeAll', 'readCircular'][kind]!;
          const op = (kind === 0
            ? serial.readExact(buf)
            : kind === 1
              ? serial.writeAll(buf)
              : serial.readCircular(buf)) as unknown as Any;
          (op.started as Promise<void>).catch(() => {});
          ops.push(op);
          serial = undefined;
        } else if (k < 60) {
          what = 'inject';
          vb.peer.inject(new Uint8Array(1 + rng.int(40)).map(() => rng.byte()));
        } else if (k < 72 && ops.length > 0) {
          const op = ops.splice(rng.int(ops.length), 1)[0]!;
          what = 'stop';
          const r = (await (op.stop as () => Promise<unknown>).call(op)) as {
            buffer?: DmaBuffer;
            serial?: Serial1;
          };
          if (r?.buffer) owned.push(r.buffer);
          if (r?.serial) serial = r.serial;
        } else if (k < 80 && ops.length > 0) {
          const op = ops[rng.int(ops.length)]!;
          what = 'wait';
          if (op.wait) {
            const r = (await Promise.race([
              op.wait().catch((e: unknown) => e),
              sleep(5).then(() => undefined),
            ])) as { buffer?: DmaBuffer; serial?: Serial1 } | undefined;
            if (r?.buffer) {
              owned.push(r.buffer);
              ops.splice(ops.indexOf(op), 1);
            }
            if (r?.serial) serial = r.serial;
          }
        } else if (k < 85) {
          what = 'forget';
          ops.length = 0;
        } else if (k < 90) {
          what = 'reconnect';
          await board.reconnect();
        } else if (k < 95) {
          what = 'recover';
          await board.recover();
        } else {
          what = 'NRST';
          vb.reset();
          await sleep(1 + rng.int(5));
        }
      } catch (e) {
        what += `!${(e as Error).name}`;
        if (/Revoked|DeviceReset|Moved|Recovering|SessionEnded/.test((e as Error).name)) serial = undefined;
        if (/DeviceReset|LinkTimeout|SessionEnded/.test((e as Error).name)) {
          await board.reconnect().catch(() => {});
          what += '+reconnect';
        } else if (/AlreadyTaken/.test((e as Error).name) && rng.int(4) === 0) {
          await board.recover().catch(() => {});
          what += '+recover';
        }
      }
      log.push(what);
      await sleep(rng.int(3));
      check(step, what);
      // Dead handles are dropped (a revoked serial, buffers no longer usable).
      for (let i = owned.length - 1; i >= 0; i--) if (!owned[i]!.usable) owned.splice(i, 1);
    }
  } finally {
    await board.close().catch(() => {});
    await vb.dispose();
  }
  console.log(`seed ${seed}: ${log.length} steps: ${log.join(' ')}`);
  return violations;
}

describe('mini model: ledger against the chip', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: no free or owned region under a running channel`, async () => {
      expect(await runSeed(seed)).toEqual([]);
    }, 20_000);
  }
});
