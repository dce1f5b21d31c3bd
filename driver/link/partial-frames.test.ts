/**
 * A frame whose delimiter never comes (its 0x00 was lost): given up as
 * damaged once the line has been quiet long enough, and no timer is set
 * for frames that arrive whole.
 */
import { describe, expect, it } from 'vitest';
import { type BoardEvent, encodeMessage } from '../protocol/index.ts';
import { flush } from '../test-support/step-clock.ts';
import { openScripted, type Scripted } from '../test-support/wire-peer.ts';
import type { LinkNotification } from './link.ts';
import { defaultPartialFrameTimeoutMs } from './partial-frames.ts';

const event: BoardEvent = {
  kind: 'event',
  event: 'dma',
  counter: 0,
  channel: 1,
  flags: 2,
  cndtr: 0,
  ccr: 0x93,
  completions: 1,
  starts: 1,
};
const frame = encodeMessage(event);

function record(s: Scripted): LinkNotification[] {
  const seen: LinkNotification[] = [];
  s.link.subscribe((n) => seen.push(n));
  return seen;
}

describe('defaultPartialFrameTimeoutMs', () => {
  it('is 16 character times at the rate, at least 20 ms; 115200 baud when the rate is unknown', () => {
    expect(defaultPartialFrameTimeoutMs(1200)).toBe(134);
    expect(defaultPartialFrameTimeoutMs(2400)).toBe(67);
    expect(defaultPartialFrameTimeoutMs(6400)).toBe(25);
    expect(defaultPartialFrameTimeoutMs(8000)).toBe(20);
    expect(defaultPartialFrameTimeoutMs(115_200)).toBe(20);
    expect(defaultPartialFrameTimeoutMs(undefined)).toBe(20);
    expect(defaultPartialFrameTimeoutMs(0)).toBe(20);
  });
});

describe('Link: a frame cut short', () => {
  it('is given up when the line has been quiet for the default time at the rate, not sooner', async () => {
    const s = await openScripted();
    const seen = record(s);
    s.peer.sendRaw(frame.subarray(0, 6));
    await s.clock.advance(19);
    expect(seen).toEqual([]);
    await s.clock.advance(1);
    expect(seen).toEqual([{ kind: 'frame-damaged' }]);
    expect(s.link.stats.corruptFrames).toBe(1);
    expect(s.clock.pending).toBe(0);
    await s.link.close();
  });

  it('waits longer at a slower rate', async () => {
    const s = await openScripted();
    const seen = record(s);
    s.link.adoptBaud(1200);
    s.peer.sendRaw(frame.subarray(0, 6));
    await s.clock.advance(133);
    expect(seen).toEqual([]);
    await s.clock.advance(1);
    expect(seen).toEqual([{ kind: 'frame-damaged' }]);
    await s.link.close();
  });

  it('still arriving, is waited for from its last byte', async () => {
    const s = await openScripted({ link: { partialFrameTimeoutMs: 20 } });
    const seen = record(s);
    s.peer.sendRaw(frame.subarray(0, 4));
    await s.clock.advance(15);
    s.peer.sendRaw(frame.subarray(4, 8));
    await s.clock.advance(5);
    // At the first deadline the line has been quiet 5 ms: 15 more.
    expect(s.clock.delays).toEqual([20, 15]);
    await s.clock.advance(14);
    expect(seen).toEqual([]);
    await s.clock.advance(1);
    expect(seen).toEqual([{ kind: 'frame-damaged' }]);
    await s.link.close();
  });

  it('completed before the deadline: the timer ends there', async () => {
    const s = await openScripted();
    const seen = record(s);
    s.peer.sendRaw(frame.subarray(0, 4));
    await s.clock.advance(5);
    s.peer.sendRaw(frame.subarray(4, 8));
    await s.clock.advance(3);
    s.peer.sendRaw(frame.subarray(8));
    await s.clock.advance(12);
    expect(s.clock.delays).toEqual([20]);
    expect(s.clock.pending).toBe(0);
    expect(seen).toEqual([{ kind: 'event', event }]);
    await s.link.close();
  });

  it('pending when the link closes: its timer goes with it', async () => {
    const s = await openScripted();
    s.peer.sendRaw(frame.subarray(0, 6));
    await flush();
    expect(s.clock.pending).toBe(1);
    await s.link.close();
    expect(s.clock.pending).toBe(0);
  });

  it('frames that arrive whole set no timer', async () => {
    const s = await openScripted();
    const seen = record(s);
    s.peer.sendRaw(frame);
    await flush();
    s.peer.sendRaw(Uint8Array.of(0, 0));
    await s.clock.advance(100);
    expect(s.clock.delays).toEqual([]);
    expect(seen).toEqual([{ kind: 'event', event }]);
    await s.link.close();
  });

  it('is dropped when the rate changes under it', async () => {
    const s = await openScripted({ link: { partialFrameTimeoutMs: 1000 } });
    const seen = record(s);
    s.peer.sendRaw(frame.subarray(0, 6));
    await flush();
    // Bytes from before a rate switch are noise at the new rate.
    s.link.adoptBaud(460_800);
    s.peer.sendRaw(frame.subarray(6));
    s.peer.sendRaw(frame);
    await flush();
    expect(seen).toEqual([{ kind: 'frame-damaged' }, { kind: 'event', event }]);
    await s.link.close();
  });
});
