import { describe, expect, it } from 'vitest';
import { TestClock } from '../stm32g071/test-support.ts';
import { Usart } from '../stm32g071/usart.ts';
import { Usart1Wire } from './serial-peer.ts';

describe('USART1 peer log', () => {
  it('keeps a bounded number of the most recent bytes, while onByte sees every one', () => {
    const usart = new Usart({ name: 'USART1', clock: new TestClock() });
    const wire = new Usart1Wire(usart, 'peer', () => {}, 8);
    let heard = 0;
    wire.onByte(() => heard++);
    for (let i = 0; i < 100; i++) usart.onTransmit?.(i, i * 1000);
    expect(heard).toBe(100);
    const kept = wire.received();
    expect(kept.length).toBeLessThanOrEqual(8);
    expect(kept.at(-1)).toEqual({ byte: 99, timeNs: 99_000 });
    // Oldest first, contiguous up to the newest.
    expect(kept.map((r) => r.byte)).toEqual(kept.map((_, i) => 100 - kept.length + i));
  });
});
