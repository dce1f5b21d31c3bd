/**
 * A signal trace of a known transfer on the virtual board running the real
 * firmware, written as VCD and read back: the USART1 TX line decodes to the
 * bytes sent, and the DMA channel's EN and TC edges sit where the USART's
 * timing puts them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Serial1 } from '../driver/api/index.ts';
import { traceBoard } from '../emulator/debug/trace/trace-board.ts';
import { parseVcd } from '../emulator/debug/trace/vcd-parser.ts';
import { openVirtualTarget, peerText, type VirtualTarget } from './support/virtual-target.ts';

let target: VirtualTarget | undefined;
afterEach(async () => {
  await target?.dispose();
  target = undefined;
});

type Changes = { timeNs: number; value: string }[];

/** The value a line holds at `t`. */
function at(changes: Changes, t: number): string {
  let v = 'x';
  for (const c of changes) {
    if (c.timeNs > t) break;
    v = c.value;
  }
  return v;
}

/** Decodes 8N1 characters from a line's changes: start bit = falling edge from idle, bits sampled mid-bit. */
function decodeUart(changes: Changes, bitNs: number): { byte: number; startNs: number }[] {
  const out: { byte: number; startNs: number }[] = [];
  let busyUntil = -Infinity;
  for (let i = 1; i < changes.length; i++) {
    const c = changes[i]!;
    if (c.value !== '0' || changes[i - 1]!.value !== '1' || c.timeNs < busyUntil) continue;
    let byte = 0;
    for (let b = 0; b < 8; b++) if (at(changes, c.timeNs + (1.5 + b) * bitNs) === '1') byte |= 1 << b;
    expect(at(changes, c.timeNs + 9.5 * bitNs), 'stop bit').toBe('1');
    out.push({ byte, startNs: c.timeNs });
    busyUntil = c.timeNs + 9.5 * bitNs;
  }
  return out;
}

const rising = (changes: Changes) =>
  changes.filter((c, i) => i > 0 && c.value === '1' && changes[i - 1]!.value === '0');

describe('a VCD trace of the board', () => {
  it('records a DMA transfer to USART1: TX decodes to the bytes, EN and TC edges at the USART times', async () => {
    target = await openVirtualTarget();
    const { board, vb } = target;
    const serial = await Serial1.take(board, { baudRate: 115_200 });
    const buf = board.alloc(13);
    await buf.write(new TextEncoder().encode('Hello, world!'));
    let vcd = '';
    const trace = traceBoard(vb, {
      sink: (t) => (vcd += t),
      signals: ['usart1.tx', 'dma.*.en', 'dma.*.tc', 'dma.*.req', 'led.*'],
    });
    const startedNs = vb.nowNs;
    await serial.writeAll(buf).wait();
    trace.stop();
    expect(peerText(vb)).toBe('Hello, world!');

    const parsed = parseVcd(vcd);
    expect([...parsed.signals.keys()]).toContain('usart1.tx');
    expect(parsed.signals.has('usart2.tx')).toBe(false); // not selected
    // 115200 baud from the 64 MHz kernel clock: BRR = 556 periods of 15.625 ns.
    const bitNs = 556 * 15.625;
    const chars = decodeUart(parsed.signals.get('usart1.tx')!, bitNs);
    expect(String.fromCharCode(...chars.map((c) => c.byte))).toBe('Hello, world!');

    // The channel that moved them (the bridge's are 1 and 2; 3 and 4 carry the host link): its EN rose once.
    const channels = [...parsed.signals.entries()].filter(
      ([n, c]) => /^dma\.ch[12]\.en$/.test(n) && rising(c).length === 1,
    );
    expect(channels.length).toBe(1);
    const ch = channels[0]![0].replace('.en', '');
    const enRise = rising(parsed.signals.get(`${ch}.en`)!)[0]!.timeNs;
    const tcRise = rising(parsed.signals.get(`${ch}.tc`)!)[0]!.timeNs;
    expect(enRise).toBeGreaterThanOrEqual(startedNs);
    // The first item goes to TDR one DMA service (a few HCLK cycles) after EN,
    // and TDR to the shift register at once: the start bit follows within a microsecond.
    expect(chars[0]!.startNs - enRise).toBeGreaterThanOrEqual(0);
    expect(chars[0]!.startNs - enRise).toBeLessThan(1000);
    // TXE rises as each character starts, so the 13th item (TC) moves as the 12th character starts.
    expect(tcRise - chars[11]!.startNs).toBeGreaterThanOrEqual(0);
    expect(tcRise - chars[11]!.startNs).toBeLessThan(1000);
    // USART1's TX request (TXE through DMAMUX1): high from DMAT on, and the first two items go at once
    // (TDR empties into the shift register as the first character starts); after that it rises as
    // each character starts (TXE) and falls when the DMA has filled TDR: 13 requests for 13 items.
    const requests = rising(parsed.signals.get(`${ch}.req`)!).map((c) => c.timeNs);
    expect(requests.length).toBe(13);
    expect(requests[0]).toBeLessThan(chars[0]!.startNs);
    expect(requests.slice(1)).toEqual(chars.slice(1).map((c) => c.startNs));
    // All within the trace, in order of time.
    const times = parsed.signals.get('usart1.tx')!.map((c) => c.timeNs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('keeps to the window; shows the host link handler, the watchdog feeds and LD4; refuses unknown signals', async () => {
    target = await openVirtualTarget();
    const { vb, board } = target;
    expect(() => traceBoard(vb, { sink: () => {}, signals: ['nothing.*'] })).toThrow(/usart1\.tx/);
    let vcd = '';
    const from = vb.nowNs + 1e6;
    const to = from + 600e6;
    const trace = traceBoard(vb, {
      sink: (t) => {
        vcd += t;
      },
      signals: ['nvic.USART2.*', 'iwdg.*', 'led.*'],
      fromNs: from,
      toNs: to,
    });
    // Requests for the first 20 ms of the window (each a frame the host link's handler sees), then
    // quiet to its end: LD4 goes dark with the traffic and lit again a quarter to half a second after.
    for (let i = 0; i < 2000 && vb.nowNs < from + 20e6; i++) await board.ping();
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 20_000;
      const poll = () => {
        if (vb.nowNs > to) resolve();
        else if (Date.now() > deadline) reject(new Error('the board did not reach the end of the window'));
        else setTimeout(poll, 2);
      };
      poll();
    });
    trace.stop();
    const parsed = parseVcd(vcd);
    expect([...parsed.signals.keys()].sort()).toEqual([
      'iwdg.reload',
      'led.ld4',
      'nvic.USART2.active',
      'nvic.USART2.line',
    ]);
    const times = [...parsed.signals.values()].flat().map((c) => c.timeNs);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(from - 1e-3);
    expect(Math.max(...times, parsed.endNs)).toBeLessThanOrEqual(to + 1e-3);
    // USART2's handler ran (its line rose and fell with it), the main loop fed the watchdog, LD4 blinked with traffic.
    expect(rising(parsed.signals.get('nvic.USART2.active')!).length).toBeGreaterThan(2);
    expect(rising(parsed.signals.get('nvic.USART2.line')!).length).toBeGreaterThan(2);
    expect(parsed.signals.get('iwdg.reload')!.length).toBeGreaterThan(2);
    expect(parsed.signals.get('led.ld4')!.length).toBeGreaterThan(1);
  });
});
