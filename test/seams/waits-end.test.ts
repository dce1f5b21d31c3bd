/**
 * Every wait ends: probes of operations in flight when the board is closed,
 * recovered or reconnected under them. Each promise must settle within a
 * bound (measured in real time: nothing here needs the board to answer).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSerialTarget, pattern, type SerialTarget } from '../support/api-fixtures.ts';

let t: SerialTarget | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

/** 'settled' or 'pending' after `ms` of real time. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<'settled' | 'pending'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    p.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    new Promise<'pending'>((res) => {
      timer = setTimeout(() => res('pending'), ms);
    }),
  ]);
  clearTimeout(timer);
  return r;
}

describe('every wait ends', () => {
  it('readExact in flight when the board is closed: started and wait() settle', async () => {
    t = await openSerialTarget();
    const { board, serial } = t;
    const tr = serial.readExact(board.alloc(16));
    const closing = board.close();
    const r = {
      started: await settlesWithin(tr.started, 3000),
      wait: await settlesWithin(tr.wait(), 3000),
      close: await settlesWithin(closing, 3000),
    };
    expect(r).toEqual({ started: 'settled', wait: 'settled', close: 'settled' });
  }, 15_000);

  it('a stream writer mid-write when recover() runs: write, close and abort settle', async () => {
    t = await openSerialTarget();
    const { board, serial } = t;
    const w = serial.streamWriter({ chunkSize: 256 });
    const writing = w.write(pattern(4000));
    const recovering = board.recover();
    const closing = w.close();
    const r = {
      write: await settlesWithin(writing, 3000),
      recover: await settlesWithin(recovering, 3000),
      close: await settlesWithin(closing, 3000),
      abort: await settlesWithin(w.abort(), 3000),
    };
    expect(r).toEqual({ write: 'settled', recover: 'settled', close: 'settled', abort: 'settled' });
  }, 20_000);

  it('a circular reception iterated while reconnect() runs: next() and stop() settle', async () => {
    t = await openSerialTarget();
    const { board, serial } = t;
    const circ = serial.readCircular(board.alloc(32));
    const it = circ[Symbol.asyncIterator]();
    const next = it.next();
    const reconnecting = board.reconnect();
    const r = {
      next: await settlesWithin(next, 3000),
      reconnect: await settlesWithin(reconnecting, 3000),
      stop: await settlesWithin(circ.stop(), 3000),
    };
    expect(r).toEqual({ next: 'settled', reconnect: 'settled', stop: 'settled' });
  }, 20_000);

  it('a split receive half waiting when the other half is stopped and the board recovered', async () => {
    t = await openSerialTarget();
    const { board, serial } = t;
    const { tx, rx } = serial.split();
    const r1 = rx.readExact(board.alloc(8));
    const t1 = tx.writeAll(board.alloc(8));
    await t1.wait();
    const recovering = board.recover();
    const r = {
      rx: await settlesWithin(r1.wait(), 3000),
      recover: await settlesWithin(recovering, 3000),
    };
    expect(r).toEqual({ rx: 'settled', recover: 'settled' });
  }, 20_000);
});
