/**
 * Board events as subscribers get them: each flag bit named on its own,
 * the starts a USART event names (firmware 2.4 on), BOOT as it came.
 */
import { describe, expect, it } from 'vitest';
import { DmaEventFlag, UsartEventFlag } from '../protocol/index.ts';
import { toNotification, type UsartEvent, usartEventStart } from './events.ts';

const dma = (flags: number) =>
  toNotification({
    kind: 'event',
    event: 'dma',
    counter: 3,
    channel: 2,
    flags,
    cndtr: 5,
    ccr: 0x93,
    completions: 7,
    starts: 9,
  });

const usart = (flags: number, starts: { starts1?: number; starts2?: number } = {}) =>
  toNotification({
    kind: 'event',
    event: 'usart',
    counter: 4,
    flags,
    isr: 0xc0 | flags,
    cndtr1: 1,
    cndtr2: 2,
    ...starts,
  } as never);

describe('toNotification', () => {
  it('a DMA event: every field, and each flag bit alone', () => {
    expect(dma(DmaEventFlag.TC)).toEqual({
      kind: 'dma',
      counter: 3,
      channel: 2,
      tc: true,
      ht: false,
      te: false,
      flags: DmaEventFlag.TC,
      cndtr: 5,
      ccr: 0x93,
      completions: 7,
      starts: 9,
    });
    expect(dma(DmaEventFlag.HT)).toMatchObject({ tc: false, ht: true, te: false });
    expect(dma(DmaEventFlag.TE)).toMatchObject({ tc: false, ht: false, te: true });
    expect(dma(0)).toMatchObject({ tc: false, ht: false, te: false });
  });

  it('a USART event: every field, and each flag bit alone', () => {
    const none = { pe: false, fe: false, ne: false, ore: false, idle: false, tc: false };
    expect(usart(0)).toEqual({
      kind: 'usart',
      counter: 4,
      ...none,
      flags: 0,
      isr: 0xc0,
      cndtr1: 1,
      cndtr2: 2,
    });
    for (const [flag, name] of [
      [UsartEventFlag.PE, 'pe'],
      [UsartEventFlag.FE, 'fe'],
      [UsartEventFlag.NE, 'ne'],
      [UsartEventFlag.ORE, 'ore'],
      [UsartEventFlag.IDLE, 'idle'],
      [UsartEventFlag.TC, 'tc'],
    ] as const) {
      expect(usart(flag)).toMatchObject({ ...none, [name]: true, flags: flag });
    }
  });

  it("a USART event names both channels' starts, or none (firmware before 2.4)", () => {
    expect(usart(0, { starts1: 10, starts2: 20 })).toMatchObject({ starts1: 10, starts2: 20 });
    expect(usart(0)).not.toHaveProperty('starts1');
    expect(usart(0, { starts1: 10 })).not.toHaveProperty('starts1');
    expect(usart(0, { starts2: 20 })).not.toHaveProperty('starts2');
  });

  it('a BOOT event carries its epoch and firmware version', () => {
    const v = { major: 2, minor: 4, patch: 1 };
    expect(
      toNotification({ kind: 'event', event: 'boot', counter: 0, bootEpoch: 0x1234, firmwareVersion: v }),
    ).toEqual({ kind: 'boot', bootEpoch: 0x1234, firmwareVersion: v });
  });
});

describe('usartEventStart', () => {
  it('gives the start of channel 1 or 2, and nothing for another channel or older firmware', () => {
    const e = usart(0, { starts1: 10, starts2: 20 }) as UsartEvent;
    expect(usartEventStart(e, 1)).toBe(10);
    expect(usartEventStart(e, 2)).toBe(20);
    expect(usartEventStart(e, 3)).toBeUndefined();
    expect(usartEventStart(usart(0) as UsartEvent, 2)).toBeUndefined();
  });
});
