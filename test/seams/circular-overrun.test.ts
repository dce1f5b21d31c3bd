/**
 * Circular reception never returns overwritten data: a consumer that falls
 * behind gets OverrunError, and every half it does get is the stream's bytes
 * at that half's place. Probed with a slow consumer, bursts and a lossy link.
 */
import { expect, it } from 'vitest';
import { Serial1 } from '../../driver/api/index.ts';
import { Board } from '../../driver/board/index.ts';
import { FaultInjector, mulberry32 } from '../../driver/transport/index.ts';
import { VirtualBoard } from '../../emulator/index.ts';
import { FAST_BAUD } from '../support/api-fixtures.ts';
import { loadFirmware } from '../support/firmware.ts';
import { virtualTimers } from '../support/virtual-timers.ts';

for (const seed of [1, 2, 3]) {
  it(`seed ${seed}: every half returned is the stream's bytes at its place, or OverrunError`, async () => {
    const rng = mulberry32(seed);
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: FAST_BAUD });
    vb.start();
    const timers = virtualTimers(vb);
    const sleep = (ms: number) => new Promise<void>((r) => timers.setTimeout(r, ms));
    const injector = new FaultInjector(vb.hostPort(), { seed, timers });
    const board = await Board.open(injector, { timers, retransmitTimeoutMs: 40, maxRetries: 6 });
    const f = Number(process.env.CIRC_FAULTS ?? 0.2);
    const mix = { drop: 2e-3 * f, duplicate: 2e-3 * f, delay: 5e-3 * f, delayMs: 20 };
    injector.setFaults('toDevice', mix);
    injector.setFaults('fromDevice', mix);
    const stream = new Uint8Array(3072).map((_, i) => (i * 31 + (i >> 8) * 7) & 0xff);
    let sent = 0;
    const bad: string[] = [];
    let halves = 0;
    let ended = '';
    try {
      const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      const circ = serial.readCircular(board.alloc(512));
      await circ.started;
      const feeder = (async () => {
        while (sent < stream.length) {
          const n = Math.min(stream.length - sent, 1 + rng.int(20));
          vb.peer.inject(stream.subarray(sent, sent + n));
          sent += n;
          await sleep(2 + rng.int(4));
        }
      })();
      const t0 = Date.now();
      const watchdog = setInterval(() => {
        console.log(
          `+${Date.now() - t0} ms: sent ${sent}, halves ${halves}, virtual ${(vb.chip.clock.nowNs / 1e6).toFixed(1)} ms, progress ${JSON.stringify(circ.progress)}`,
        );
      }, 2000);
      try {
        for await (const half of circ) {
          const at = halves * 256;
          for (let i = 0; i < 256; i++) {
            if (half[i] !== stream[at + i]) {
              bad.push(`half ${halves} byte ${i}: got ${half[i]}, the stream has ${stream[at + i]}`);
              break;
            }
          }
          halves++;
          if (at + 256 >= stream.length || bad.length > 0) break;
          if (rng.int(10) === 0) await sleep(rng.int(4)); // falls behind now and then
        }
      } catch (e) {
        ended = (e as Error).name;
        console.log('ended:', (e as Error).message, 'sent', sent);
      }
      clearInterval(watchdog);
      await feeder;
    } finally {
      await board.close().catch(() => {});
      await vb.dispose();
    }
    console.log(`seed ${seed}: ${halves} halves, ended ${ended || 'normally'}`);
    expect(bad).toEqual([]);
    if (ended) expect(ended).toMatch(/Overrun|LinkTimeout|TransferInDoubt/);
  }, 15_000);
}
