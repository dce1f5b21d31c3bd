/**
 * The transfer timeline: bytes on the wire over the last seconds (sent
 * above the axis, received below), with the DMA's half-transfer and
 * transfer-complete events and USART1's events marked where they came.
 * Fixed-size bins and a capped list of marks keep it bounded; it is drawn
 * on a canvas at most ten times a second, and only when something changed.
 */

import { byteSize } from '../../../format/bytes.ts';
import { h } from './dom.ts';
import { atMostEvery } from './frame.ts';

export type TimelineMark = 'HT' | 'TC' | 'TE' | 'IDLE' | 'USART TC' | 'USART error';

const WINDOW_MS = 20_000;
const BIN_MS = 100;
const BINS = WINDOW_MS / BIN_MS;
const MAX_MARKS = 400;

const MARK_COLOURS: Readonly<Record<TimelineMark, string>> = {
  HT: '#d97706',
  TC: '#dc2626',
  TE: '#7f1d1d',
  IDLE: '#7c3aed',
  'USART TC': '#0891b2',
  'USART error': '#be185d',
};

export class Timeline {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly summary: HTMLElement;
  private readonly tx = new Float64Array(BINS);
  private readonly rx = new Float64Array(BINS);
  /** The bin index (time / BIN_MS) the arrays end at. */
  private lastBin = 0;
  private marks: { timeMs: number; kind: TimelineMark; channel?: number }[] = [];
  private totals = { tx: 0, rx: 0, marks: new Map<TimelineMark, number>() };
  /** Ten redraws a second show the flow as well as sixty, for a sixth of the painting. */
  private readonly draw = atMostEvery(100, () => this.render());
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly clock: () => number) {
    this.canvas = h('canvas', {
      id: 'timeline-canvas',
      width: 640,
      height: 140,
      role: 'img',
      'aria-label': 'Transfer timeline',
    });
    this.summary = h('p', { id: 'timeline-summary', class: 'hint' }, 'No traffic yet.');
    this.element = h(
      'div',
      { class: 'timeline' },
      this.canvas,
      h(
        'p',
        { class: 'timeline-legend hint', 'aria-hidden': 'true' },
        h('span', { class: 'legend-tx' }, '▮ sent'),
        ' ',
        h('span', { class: 'legend-rx' }, '▮ received'),
        ' · marks: DMA HT, TC, TE; USART IDLE, TC, errors',
      ),
      this.summary,
    );
  }

  /** Keeps the time axis moving while there is traffic in view (a few redraws a second). */
  start(): void {
    this.stop();
    this.ticker = setInterval(() => {
      if (this.clock() - this.lastBin * BIN_MS < WINDOW_MS) this.draw();
    }, 250);
  }

  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  bytes(direction: 'tx' | 'rx', count: number): void {
    if (count <= 0) return;
    this.advance();
    (direction === 'tx' ? this.tx : this.rx)[BINS - 1]! += count;
    this.totals[direction] += count;
    this.draw();
  }

  mark(kind: TimelineMark, channel?: number): void {
    this.advance();
    this.marks.push({ timeMs: this.clock(), kind, channel });
    if (this.marks.length > MAX_MARKS) this.marks.splice(0, this.marks.length - MAX_MARKS);
    this.totals.marks.set(kind, (this.totals.marks.get(kind) ?? 0) + 1);
    this.draw();
  }

  clear(): void {
    this.tx.fill(0);
    this.rx.fill(0);
    this.marks = [];
    this.totals = { tx: 0, rx: 0, marks: new Map() };
    this.lastBin = Math.floor(this.clock() / BIN_MS);
    this.draw();
  }

  /** Shifts the bins so the last one is the present. */
  private advance(): void {
    const now = Math.floor(this.clock() / BIN_MS);
    const shift = now - this.lastBin;
    if (shift <= 0) return;
    for (const bins of [this.tx, this.rx]) {
      if (shift >= BINS) bins.fill(0);
      else {
        bins.copyWithin(0, shift);
        bins.fill(0, BINS - shift);
      }
    }
    this.lastBin = now;
  }

  private render(): void {
    this.advance();
    const ctx = this.canvas.getContext('2d');
    const counts = [...this.totals.marks].map(([k, n]) => `${n} ${k}`).join(', ');
    this.summary.textContent =
      this.totals.tx + this.totals.rx === 0 && this.marks.length === 0
        ? 'No traffic yet.'
        : `${byteSize(this.totals.tx)} sent, ${byteSize(this.totals.rx)} received` +
          (counts ? `; ${counts}` : '');
    this.canvas.setAttribute(
      'aria-label',
      `Transfer timeline, last ${WINDOW_MS / 1000} s: ${this.summary.textContent}`,
    );
    if (!ctx) return;
    const { width, height } = this.canvas;
    const mid = height / 2;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = '#8b95a1';
    ctx.fillRect(0, mid, width, 1);
    // One bin's full height: the busiest bin in view, at least one 115200 Bd bin's worth.
    let peak = (115_200 / 10) * (BIN_MS / 1000);
    for (let i = 0; i < BINS; i++) peak = Math.max(peak, this.tx[i]!, this.rx[i]!);
    const barWidth = width / BINS;
    const scale = (mid - 14) / peak;
    ctx.fillStyle = '#2563eb';
    for (let i = 0; i < BINS; i++) {
      const v = this.tx[i]!;
      if (v > 0) ctx.fillRect(i * barWidth, mid - v * scale, Math.max(1, barWidth - 1), v * scale);
    }
    ctx.fillStyle = '#16a34a';
    for (let i = 0; i < BINS; i++) {
      const v = this.rx[i]!;
      if (v > 0) ctx.fillRect(i * barWidth, mid + 1, Math.max(1, barWidth - 1), v * scale);
    }
    const end = (this.lastBin + 1) * BIN_MS;
    ctx.font = '10px system-ui, sans-serif';
    for (const m of this.marks) {
      const x = width - ((end - m.timeMs) / WINDOW_MS) * width;
      if (x < 0) continue;
      ctx.fillStyle = MARK_COLOURS[m.kind];
      ctx.fillRect(x, 10, 1, height - 10);
      ctx.fillText(m.kind === 'USART error' ? 'ERR' : m.kind.replace('USART ', 'U'), x + 2, 9);
    }
  }
}
