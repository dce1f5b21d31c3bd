/**
 * LD4 (PA5) on the virtual board running the real firmware: lit from boot,
 * dark for a moment after traffic, lit again when the link is quiet.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Board } from '../driver/index.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

let vb: VirtualBoard | undefined;
afterEach(async () => {
  await vb?.dispose();
  vb = undefined;
});

const wait = (board: VirtualBoard, ms: number) =>
  new Promise<void>((resolve) => virtualTimers(board).setTimeout(resolve, ms));

describe('LD4, the user LED', () => {
  it('is lit once the firmware runs, blinks with traffic and is steady again when the link is quiet', async () => {
    vb = new VirtualBoard({ firmware: loadFirmware() });
    expect(vb.led).toBe(false); // not running yet
    const changes: [boolean, number][] = [];
    vb.onLedChange((lit, timeNs) => changes.push([lit, timeNs]));
    vb.start();
    const board = await Board.open(vb.hostPort(), { timers: virtualTimers(vb), linkBaud: 'boot' });
    // Sample the LED every 10 ms of board time while PINGs go out for a second.
    const samples: boolean[] = [];
    const sample = () => {
      samples.push(vb!.led);
      if (samples.length < 200) virtualTimers(vb!).setTimeout(sample, 10);
    };
    sample();
    for (let i = 0; i < 50; i++) {
      await board.ping();
      await wait(vb, 20);
    }
    await wait(vb, 1000);
    const transitions = samples.slice(1).filter((s, i) => s !== samples[i]).length;
    expect(transitions).toBeGreaterThanOrEqual(2); // dark, lit, dark...
    expect(samples.at(-1)).toBe(true); // quiet for a second: lit
    expect(vb.led).toBe(true);
    // Every transition, not only those the samples caught: on at boot, then off and on again with traffic.
    expect(vb.ledTransitions).toBe(changes.length);
    expect(changes.length).toBeGreaterThanOrEqual(transitions + 1);
    expect(changes[0]![0]).toBe(true);
    expect(changes.every(([lit], i) => i === 0 || lit !== changes[i - 1]![0])).toBe(true);
    expect(changes.every(([, t], i) => i === 0 || t >= changes[i - 1]![1])).toBe(true);
    await board.close();
  });
});
