/**
 * Register batches as a caller hands them over: each operation snapshotted
 * into a frozen record, every field checked with a message naming it, long
 * batches split at the board's limits, STATUS values unpacked.
 */
import { describe, expect, it } from 'vitest';
import { BATCH_OP_SIZE, type BatchOp, Limits } from '../protocol/index.ts';
import { parseChannelStatus, snapshotBatch, splitBatch } from './batch.ts';

const REG = 0x4002_0008;

describe('snapshotBatch', () => {
  it('takes a list or a builder and gives frozen records of exactly the fields sent', () => {
    const built = snapshotBatch((b) =>
      b.read(REG).write(REG, 1).maskedWrite(REG, 0xf, 2).poll(REG, 1, 1).poll(REG, 1, 0, 500).status(1),
    );
    expect(built).toEqual([
      { op: 'read', address: REG },
      { op: 'write', address: REG, value: 1 },
      { op: 'masked-write', address: REG, mask: 0xf, value: 2 },
      { op: 'poll', address: REG, mask: 1, match: 1, timeoutUs: 0 },
      { op: 'poll', address: REG, mask: 1, match: 0, timeoutUs: 500 },
      { op: 'status', channel: 1 },
    ]);
    expect(Object.isFrozen(built)).toBe(true);
    for (const op of built) expect(Object.isFrozen(op)).toBe(true);
    const extra = { op: 'read', address: REG, value: 7 } as unknown as BatchOp;
    expect(snapshotBatch([extra])).toEqual([{ op: 'read', address: REG }]);
  });

  it('refuses what is not a batch, or not an operation, naming it', () => {
    expect(() => snapshotBatch('read' as unknown as BatchOp[])).toThrow(
      new TypeError('a batch is an array of operations or a builder function'),
    );
    expect(() => snapshotBatch([null as unknown as BatchOp])).toThrow(
      new TypeError('a batch operation is an object; got null'),
    );
    expect(() => snapshotBatch([5 as unknown as BatchOp])).toThrow(
      new TypeError('a batch operation is an object; got 5'),
    );
    expect(() => snapshotBatch([{ op: 'erase' } as unknown as BatchOp])).toThrow(
      new TypeError('unknown batch operation "erase"'),
    );
  });

  it('names the field that is not a 32-bit value', () => {
    const bad = (op: Record<string, unknown>) => () => snapshotBatch([op as unknown as BatchOp]);
    const range = (what: string, got: string) =>
      new RangeError(`${what} is a whole number from 0 to 0xFFFFFFFF; got ${got}`);
    expect(bad({ op: 'read', address: -1 })).toThrow(range('a register address', '-1'));
    expect(bad({ op: 'read', address: 2 ** 32 })).toThrow(range('a register address', '4294967296'));
    expect(bad({ op: 'read', address: 1.5 })).toThrow(range('a register address', '1.5'));
    expect(bad({ op: 'read', address: '4' })).toThrow(range('a register address', '4'));
    expect(bad({ op: 'write', address: -1, value: 0 })).toThrow(range('a register address', '-1'));
    expect(bad({ op: 'write', address: REG, value: -1 })).toThrow(range('a register value', '-1'));
    expect(bad({ op: 'masked-write', address: -1, mask: 0, value: 0 })).toThrow(
      range('a register address', '-1'),
    );
    expect(bad({ op: 'masked-write', address: REG, mask: -1, value: 0 })).toThrow(range('a mask', '-1'));
    expect(bad({ op: 'masked-write', address: REG, mask: 0, value: -1 })).toThrow(
      range('a register value', '-1'),
    );
    expect(bad({ op: 'poll', address: -1, mask: 0, match: 0, timeoutUs: 0 })).toThrow(
      range('a register address', '-1'),
    );
    expect(bad({ op: 'poll', address: REG, mask: -1, match: 0, timeoutUs: 0 })).toThrow(
      range('a mask', '-1'),
    );
    expect(bad({ op: 'poll', address: REG, mask: 0, match: -1, timeoutUs: 0 })).toThrow(
      range('a match value', '-1'),
    );
    // The bounds themselves are accepted.
    expect(snapshotBatch([{ op: 'write', address: 0, value: 0xffff_ffff }])).toHaveLength(1);
  });

  it('takes a POLL timeout of 0 to 65535 µs and a STATUS channel of one byte', () => {
    const poll = (timeoutUs: unknown) => () =>
      snapshotBatch([{ op: 'poll', address: REG, mask: 1, match: 1, timeoutUs } as unknown as BatchOp]);
    for (const t of [-1, 65536, 1.5, '10', undefined]) {
      expect(poll(t)).toThrow(new RangeError(`a POLL timeout is 0 to 65535 µs; got ${String(t)}`));
    }
    expect(poll(0)).not.toThrow();
    expect(poll(65535)).not.toThrow();
    const status = (channel: unknown) => () =>
      snapshotBatch([{ op: 'status', channel } as unknown as BatchOp]);
    for (const c of [-1, 256, 1.5, '1', undefined]) {
      expect(status(c)).toThrow(new RangeError(`a STATUS channel is a byte; got ${String(c)}`));
    }
    expect(status(0)).not.toThrow();
    expect(status(255)).not.toThrow();
  });
});

describe('splitBatch', () => {
  it('cuts at the payload size and at the reply limit on values, never leaving an empty piece', () => {
    const reads = Array.from(
      { length: Limits.maxBatchReads + 1 },
      () => ({ op: 'read', address: REG }) as const,
    );
    const pieces = splitBatch(reads, 10_000);
    expect(pieces.map((p) => p.length)).toEqual([Limits.maxBatchReads, 1]);
    const writes = Array.from({ length: 5 }, () => ({ op: 'write', address: REG, value: 0 }) as const);
    const size = BATCH_OP_SIZE.write;
    expect(splitBatch(writes, 2 * size).map((p) => p.length)).toEqual([2, 2, 1]);
    expect(splitBatch(writes, 2 * size + 1).map((p) => p.length)).toEqual([2, 2, 1]);
    expect(splitBatch(writes, 5 * size).map((p) => p.length)).toEqual([5]);
    // One operation bigger than the payload still goes, alone.
    expect(splitBatch(writes.slice(0, 2), 1).map((p) => p.length)).toEqual([1, 1]);
    expect(splitBatch([], 100)).toEqual([]);
  });
});

describe('parseChannelStatus', () => {
  it('unpacks the four values of a STATUS operation at an offset', () => {
    const values = [99, 0x91, (3 << 16) | 0x20, (0xbeef << 16) | 0xa, 0x00c0];
    expect(parseChannelStatus(values, 1)).toEqual({
      ccr: 0x91,
      cndtr: 0x20,
      completions: 3,
      flags: 0xa,
      starts: 0xbeef,
      usartIsr: 0xc0,
    });
    expect(() => parseChannelStatus(values, 2)).toThrow(
      new RangeError('a STATUS operation gives 4 values; 3 left'),
    );
    expect(parseChannelStatus([1, 2, 3, 4]).ccr).toBe(1);
  });
});
