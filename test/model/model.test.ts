/**
 * The model test, short: random sequences of everything a program can do
 * with the driver (allocate, free, copy, every transfer kind, streams,
 * split, abort, forget, reconnect, recover, reset the board, take and drop
 * Serial1, raw register writes, tamper with a buffer object) on the real
 * firmware over a faulty link. After every step the board's DMA channels
 * are read and held against the driver's and the program's view of the
 * arena, operations against their deadlines, and the bytes USART1's peer
 * received against the transfers allowed to send them. `npm run soak --
 * model` runs it for minutes.
 *
 * MODEL_SEED, MODEL_PATH and MODEL_REPLAY (printed on failure) replay a run; MODEL_ONLY
 * and MODEL_EXCLUDE pick command kinds (commands.ts, COMMAND_KINDS).
 */

import { describe, expect, it } from 'vitest';
import { describeModelReport, kindsFrom, runModel } from './run-model.ts';

const seed = Number(process.env.MODEL_SEED ?? 20261207);
const path = process.env.MODEL_PATH;

describe('model: random API sequences on the real firmware keep the board memory safe', () => {
  it('no free or owned region under a running DMA channel, every operation ends, every byte at the peer was owned by a live transfer', async () => {
    const report = await runModel({
      seed,
      ...(path ? { path } : {}),
      ...(process.env.MODEL_REPLAY ? { replayPath: process.env.MODEL_REPLAY } : {}),
      ...(process.env.MODEL_REPLAY ? { replayPath: process.env.MODEL_REPLAY } : {}),
      numRuns: 8,
      maxCommands: 20,
      size: 'medium',
      wallLimitMs: 20_000,
      // A safety net on a slow machine: the runs done by then still count.
      timeLimitMs: 30_000,
      shrink: true,
      kinds: kindsFrom(process.env.MODEL_ONLY, process.env.MODEL_EXCLUDE),
    });
    const text = describeModelReport(report);
    expect(report.failed, text).toBe(false);
    expect(report.steps, text).toBeGreaterThan(0);
  }, 60_000);
});
