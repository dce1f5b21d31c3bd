import { describe, expect, it } from 'vitest';
import { ByteHistory } from './byte-history.ts';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('ByteHistory', () => {
  it('keeps everything while under capacity', () => {
    const h = new ByteHistory(8);
    h.push(bytes(1, 2, 3));
    h.push(bytes(4));
    expect([...h.tail()]).toEqual([1, 2, 3, 4]);
    expect([...h.tail(2)]).toEqual([3, 4]);
    expect(h.total).toBe(4);
  });

  it('keeps the newest bytes across the wrap and counts all of them', () => {
    const h = new ByteHistory(4);
    for (let i = 0; i < 10; i++) h.push(bytes(i, i + 100));
    expect([...h.tail()]).toEqual([8, 108, 9, 109]);
    expect(h.total).toBe(20);
    expect(h.size).toBe(4);
  });

  it('takes a push larger than its capacity', () => {
    const h = new ByteHistory(3);
    h.push(bytes(1));
    h.push(bytes(2, 3, 4, 5, 6));
    expect([...h.tail()]).toEqual([4, 5, 6]);
    h.clear();
    expect(h.total).toBe(0);
    expect(h.tail().length).toBe(0);
  });
});
