import { describe, expect, it } from 'vitest';
import { DMAMUX, DMAREQ, Dmamux } from './dmamux.ts';

function setup() {
  const events: string[] = [];
  const levels = new Map<number, boolean>();
  const mux = new Dmamux((ch, level) => {
    events.push(`ch${ch}:${level ? 1 : 0}`);
    levels.set(ch, level);
  });
  return { mux, events, levels };
}

describe('DMAMUX1', () => {
  it('routes USART1_TX (51) on channel 0 to DMA1 channel 1', () => {
    const { mux, events } = setup();
    const tx = mux.requestLine(DMAREQ.USART1_TX);
    tx.set(true);
    expect(events).toEqual([]); // nothing selects it yet
    mux.write(DMAMUX.CCR(0), DMAREQ.USART1_TX, 4);
    expect(events).toEqual(['ch1:1']);
    tx.set(false);
    expect(events).toEqual(['ch1:1', 'ch1:0']);
  });

  it('routes each channel independently and follows re-selection', () => {
    const { mux, levels } = setup();
    const rx1 = mux.requestLine(DMAREQ.USART1_RX);
    const rx2 = mux.requestLine(DMAREQ.USART2_RX);
    const tx2 = mux.requestLine(DMAREQ.USART2_TX);
    mux.write(DMAMUX.CCR(2), DMAREQ.USART2_RX, 4);
    mux.write(DMAMUX.CCR(6), DMAREQ.USART2_TX, 4);
    rx2.set(true);
    tx2.set(true);
    expect(levels.get(3)).toBe(true);
    expect(levels.get(7)).toBe(true);
    mux.write(DMAMUX.CCR(2), DMAREQ.USART1_RX, 4);
    expect(levels.get(3)).toBe(false);
    rx1.set(true);
    expect(levels.get(3)).toBe(true);
    mux.write(DMAMUX.CCR(2), 0, 4); // id 0: no request
    expect(levels.get(3)).toBe(false);
  });

  it('stores the other CxCR bits and reads CSR as 0', () => {
    const { mux } = setup();
    const v = 50 | (1 << 9) | (1 << 16) | (2 << 17) | (3 << 19) | (4 << 24);
    mux.write(DMAMUX.CCR(1), v, 4);
    expect(mux.read(DMAMUX.CCR(1), 4)).toBe(v);
    expect(mux.read(DMAMUX.CSR, 4)).toBe(0);
    expect(mux.read(DMAMUX.SIDR, 4)).toBe(0xa3c5dd01);
    expect(() => mux.read(0x20, 4)).toThrow(/bus error/);
  });

  it('rejects request ids the chip does not have', () => {
    const { mux } = setup();
    expect(() => mux.requestLine(0)).toThrow(RangeError);
    expect(() => mux.requestLine(74)).toThrow(RangeError);
  });
});
