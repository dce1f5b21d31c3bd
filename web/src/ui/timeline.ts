/**
 * The transfer timeline: bytes on the wire per interval over the whole
 * session (sent above the axis, received below), DMA HT, TC, TE and
 * USART1 events as ticks with labels that never overlap (nearby marks are
 * counted into one label; a label with no room is left out), and a time
 * axis in ms, s or min. Zoom and pan with the buttons, the wheel, a drag or
 * the keyboard; "Live" follows the present. Memory is bounded: bins start
 * at 100 ms and, when there are too many, pairs merge into bins twice as
 * long; marks are counted per bin.
 */
import { button, h } from './dom.ts';
import { atMostEvery } from './frame.ts';

export type TimelineMark = 'HT' | 'TC' | 'TE' | 'IDLE' | 'USART TC' | 'USART error';

const MARK_KINDS: readonly TimelineMark[] = ['HT', 'TC', 'TE', 'IDLE', 'USART TC', 'USART error'];
const MARK_LABEL: Readonly<Record<TimelineMark, string>> = {
  HT: 'HT',
  TC: 'TC',
  TE: 'TE',
  IDLE: 'IDLE',
  'USART TC': 'UTC',
  'USART error': 'ERR',
};
const MARK_COLOURS: Readonly<Record<TimelineMark, string>> = {
  HT: '#d97706',
  TC: '#dc2626',
  TE: '#7f1d1d',
  IDLE: '#7c3aed',
  'USART TC': '#0891b2',
  'USART error': '#be185d',
};

const FIRST_BIN_MS = 100;
/** Bins kept; past this, pairs merge (the whole session stays, coarser). */
export const MAX_BINS = 4096;
const DEFAULT_SPAN_MS = 30_000;
const MIN_SPAN_MS = 500;
const HEIGHT = 180;
const AXIS_HEIGHT = 22;
const LABEL_BAND = 18;
const FONT = '12px system-ui, sans-serif';

interface Bins {
  tx: number[];
  rx: number[];
  marks: Map<TimelineMark, number[]>;
}

export class Timeline {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly summary: HTMLElement;
  private readonly viewText = h('span', { id: 'timeline-view', class: 'hint' });
  private binMs = FIRST_BIN_MS;
  private bins: Bins = emptyBins();
  private totals = { tx: 0, rx: 0, marks: new Map<TimelineMark, number>() };
  /** Visible span, ms; the view ends at `viewEnd`, or at the present when following. */
  private spanMs = DEFAULT_SPAN_MS;
  private viewEnd = 0;
  private following = true;
  private readonly draw = atMostEvery(100, () => this.render());
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly clock: () => number) {
    this.canvas = h('canvas', {
      id: 'timeline-canvas',
      role: 'img',
      tabindex: 0,
      'aria-label': 'Transfer timeline',
      'aria-describedby': 'timeline-keys',
    });
    this.summary = h('p', { id: 'timeline-summary', class: 'hint' }, 'No traffic yet.');
    const zoomIn = button('Zoom in', { id: 'timeline-zoom-in', class: 'secondary' });
    const zoomOut = button('Zoom out', { id: 'timeline-zoom-out', class: 'secondary' });
    const back = button('◀', { id: 'timeline-back', class: 'secondary', 'aria-label': 'Earlier' });
    const forward = button('▶', { id: 'timeline-forward', class: 'secondary', 'aria-label': 'Later' });
    const whole = button('Whole session', { id: 'timeline-whole', class: 'secondary' });
    const live = button('Live', { id: 'timeline-live', class: 'secondary' });
    zoomIn.addEventListener('click', () => this.zoom(0.5));
    zoomOut.addEventListener('click', () => this.zoom(2));
    back.addEventListener('click', () => this.pan(-0.5));
    forward.addEventListener('click', () => this.pan(0.5));
    whole.addEventListener('click', () => this.showWhole());
    live.addEventListener('click', () => this.followLive());
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    this.canvas.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        const rect = this.canvas.getBoundingClientRect();
        this.zoom(e.deltaY > 0 ? 1.25 : 0.8, (e.clientX - rect.left) / rect.width);
      },
      { passive: false },
    );
    let dragX: number | undefined;
    this.canvas.addEventListener('pointerdown', (e) => {
      dragX = e.clientX;
      this.canvas.setPointerCapture(e.pointerId);
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (dragX === undefined) return;
      const width = this.canvas.getBoundingClientRect().width || 1;
      this.pan((dragX - e.clientX) / width);
      dragX = e.clientX;
    });
    this.canvas.addEventListener('pointerup', () => {
      dragX = undefined;
    });
    this.element = h(
      'div',
      { class: 'timeline' },
      h('div', { class: 'toolbar' }, zoomOut, zoomIn, back, forward, whole, live, this.viewText),
      this.canvas,
      h(
        'p',
        { class: 'timeline-legend hint' },
        h('span', { class: 'legend-tx' }, '▮ sent'),
        ' ',
        h('span', { class: 'legend-rx' }, '▮ received'),
        ' · marks: DMA HT, TC, TE; USART IDLE, UTC (transmission complete), ERR',
      ),
      h(
        'p',
        { class: 'hint', id: 'timeline-keys' },
        'Keys on the chart: ← → pan, + − zoom, Home whole session, End live.',
      ),
      this.summary,
    );
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  /** Keeps the time axis moving while following the present (a few redraws a second). */
  start(): void {
    this.stop();
    this.ticker = setInterval(() => {
      if (this.following) this.draw();
    }, 250);
  }

  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  bytes(direction: 'tx' | 'rx', count: number): void {
    if (count <= 0) return;
    const i = this.binAt(this.clock());
    this.bins[direction][i] = (this.bins[direction][i] ?? 0) + count;
    this.totals[direction] += count;
    this.draw();
  }

  mark(kind: TimelineMark, _channel?: number): void {
    const i = this.binAt(this.clock());
    const counts = this.bins.marks.get(kind)!;
    counts[i] = (counts[i] ?? 0) + 1;
    this.totals.marks.set(kind, (this.totals.marks.get(kind) ?? 0) + 1);
    this.draw();
  }

  clear(): void {
    this.binMs = FIRST_BIN_MS;
    this.bins = emptyBins();
    this.totals = { tx: 0, rx: 0, marks: new Map() };
    this.followLive();
  }

  /** Draws again (the page's colours changed). */
  redraw(): void {
    this.draw();
  }

  /** The time span one bin covers now (it grows as the session does). */
  get binSpanMs(): number {
    return this.binMs;
  }

  /** Where the view is: [start, end] in ms since connecting, and whether it follows the present. */
  get view(): { startMs: number; endMs: number; following: boolean } {
    const end = this.following ? this.clock() : this.viewEnd;
    return { startMs: end - this.spanMs, endMs: end, following: this.following };
  }

  /** Bin index for time `ms`, merging pairs of bins while there would be too many. */
  private binAt(ms: number): number {
    let i = Math.floor(Math.max(0, ms) / this.binMs);
    while (i >= MAX_BINS) {
      const merge = (a: number[]) => {
        const out: number[] = [];
        for (let j = 0; j < a.length; j += 2) out.push((a[j] ?? 0) + (a[j + 1] ?? 0));
        return out;
      };
      this.bins.tx = merge(this.bins.tx);
      this.bins.rx = merge(this.bins.rx);
      for (const [k, v] of this.bins.marks) this.bins.marks.set(k, merge(v));
      this.binMs *= 2;
      i = Math.floor(ms / this.binMs);
    }
    return i;
  }

  private zoom(factor: number, anchor = 1): void {
    const { startMs, endMs } = this.view;
    const at = startMs + anchor * (endMs - startMs);
    const span = Math.min(
      Math.max(MIN_SPAN_MS, this.spanMs * factor),
      Math.max(this.clock(), DEFAULT_SPAN_MS),
    );
    this.spanMs = span;
    if (!this.following || anchor < 1) {
      this.following = false;
      this.viewEnd = Math.min(this.clock(), at + (1 - anchor) * span);
    }
    this.draw();
  }

  private pan(fraction: number): void {
    const end = this.view.endMs + fraction * this.spanMs;
    const now = this.clock();
    if (end >= now) {
      this.followLive();
      return;
    }
    this.following = false;
    this.viewEnd = Math.max(this.spanMs * 0.5, end);
    this.draw();
  }

  private showWhole(): void {
    this.following = false;
    this.viewEnd = this.clock();
    this.spanMs = Math.max(MIN_SPAN_MS, this.viewEnd);
    this.draw();
  }

  private followLive(): void {
    this.following = true;
    this.spanMs = Math.min(this.spanMs, Math.max(DEFAULT_SPAN_MS, this.spanMs));
    this.draw();
  }

  private onKey(e: KeyboardEvent): void {
    const actions: Record<string, () => void> = {
      ArrowLeft: () => this.pan(-0.25),
      ArrowRight: () => this.pan(0.25),
      '+': () => this.zoom(0.5),
      '=': () => this.zoom(0.5),
      '-': () => this.zoom(2),
      Home: () => this.showWhole(),
      End: () => this.followLive(),
    };
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  }

  private render(): void {
    const counts = [...this.totals.marks].map(([k, n]) => `${n} ${k}`).join(', ');
    this.summary.textContent =
      this.totals.tx + this.totals.rx === 0 && this.totals.marks.size === 0
        ? 'No traffic yet.'
        : `${this.totals.tx} B sent, ${this.totals.rx} B received${counts ? `; ${counts}` : ''}`;
    const { startMs, endMs, following } = this.view;
    this.viewText.textContent = `${following ? 'live, ' : ''}${formatSpan(endMs - startMs)} shown`;
    this.canvas.setAttribute(
      'aria-label',
      `Transfer timeline, ${formatSpan(endMs - startMs)} shown: ${this.summary.textContent}`,
    );
    const cssWidth = Math.max(1, Math.round(this.canvas.clientWidth || 600));
    const ratio = globalThis.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(cssWidth * ratio)) this.canvas.width = Math.round(cssWidth * ratio);
    if (this.canvas.height !== Math.round(HEIGHT * ratio)) this.canvas.height = Math.round(HEIGHT * ratio);
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const style = getComputedStyle(this.canvas);
    const text = style.color || '#5d6773';
    ctx.clearRect(0, 0, cssWidth, HEIGHT);
    const plotTop = LABEL_BAND;
    const plotBottom = HEIGHT - AXIS_HEIGHT;
    const mid = (plotTop + plotBottom) / 2;
    const span = endMs - startMs;
    const xOf = (ms: number) => ((ms - startMs) / span) * cssWidth;

    // Bytes per column: bins summed into columns at least 2 px wide.
    const binPx = (this.binMs / span) * cssWidth;
    const perColumn = Math.max(1, Math.ceil(2 / binPx));
    const columnMs = perColumn * this.binMs;
    const first = Math.max(0, Math.floor(startMs / columnMs) * perColumn);
    const last = Math.ceil(endMs / this.binMs);
    const columns: { x: number; w: number; tx: number; rx: number }[] = [];
    let peak = 0;
    for (let i = first; i <= last; i += perColumn) {
      let tx = 0;
      let rx = 0;
      for (let j = i; j < i + perColumn; j++) {
        tx += this.bins.tx[j] ?? 0;
        rx += this.bins.rx[j] ?? 0;
      }
      if (tx + rx === 0) continue;
      peak = Math.max(peak, tx, rx);
      columns.push({ x: xOf(i * this.binMs), w: Math.max(1, binPx * perColumn - 1), tx, rx });
    }
    const scale = peak > 0 ? (mid - plotTop - 2) / peak : 0;
    ctx.fillStyle = '#2563eb';
    for (const c of columns) if (c.tx > 0) ctx.fillRect(c.x, mid - c.tx * scale, c.w, c.tx * scale);
    ctx.fillStyle = '#16a34a';
    for (const c of columns) if (c.rx > 0) ctx.fillRect(c.x, mid + 1, c.w, c.rx * scale);
    ctx.fillStyle = text;
    ctx.globalAlpha = 0.5;
    ctx.fillRect(0, mid, cssWidth, 1);
    ctx.fillRect(0, plotBottom, cssWidth, 1);
    ctx.globalAlpha = 1;
    ctx.font = FONT;
    ctx.textBaseline = 'top';
    if (peak > 0) {
      ctx.fillText(`${peak} B / ${formatSpan(columnMs)} peak`, 4, plotTop + 2);
    }

    // Marks: a tick per bin with marks; labels per cluster, left out where they would overlap.
    const clusters: { x: number; counts: Map<TimelineMark, number> }[] = [];
    const CLUSTER_PX = 6;
    for (let i = Math.max(0, Math.floor(startMs / this.binMs)); i <= last; i++) {
      let any = false;
      for (const kind of MARK_KINDS) {
        const n = this.bins.marks.get(kind)![i] ?? 0;
        if (n === 0) continue;
        any = true;
        const x = xOf((i + 0.5) * this.binMs);
        let cluster = clusters.at(-1);
        if (!cluster || x - cluster.x > CLUSTER_PX) {
          cluster = { x, counts: new Map() };
          clusters.push(cluster);
        }
        cluster.counts.set(kind, (cluster.counts.get(kind) ?? 0) + n);
      }
      if (!any) continue;
    }
    let labelEnd = Number.NEGATIVE_INFINITY;
    for (const c of clusters) {
      const [kind, n] = [...c.counts].sort((a, b) => b[1] - a[1])[0]!;
      ctx.fillStyle = MARK_COLOURS[kind];
      ctx.fillRect(c.x, plotTop, 1, plotBottom - plotTop);
      const label = `${MARK_LABEL[kind]}${n > 1 ? `×${n}` : ''}${c.counts.size > 1 ? '+' : ''}`;
      const w = ctx.measureText(label).width;
      if (c.x + 2 < labelEnd + 4 || c.x + 2 + w > cssWidth) continue;
      ctx.fillText(label, c.x + 2, 2);
      labelEnd = c.x + 2 + w;
    }

    // The time axis: a round step, labels at least 70 px apart.
    ctx.fillStyle = text;
    const step = niceStep((70 / cssWidth) * span);
    let lastEnd = Number.NEGATIVE_INFINITY;
    for (let t = Math.ceil(startMs / step) * step; t <= endMs; t += step) {
      const x = xOf(t);
      ctx.fillRect(x, plotBottom, 1, 4);
      const label = formatTime(t, step);
      const w = ctx.measureText(label).width;
      const left = Math.min(Math.max(0, x - w / 2), cssWidth - w);
      if (left < lastEnd + 6) continue;
      ctx.fillText(label, left, plotBottom + 6);
      lastEnd = left + w;
    }
  }
}

function emptyBins(): Bins {
  return { tx: [], rx: [], marks: new Map(MARK_KINDS.map((k) => [k, []])) };
}

/** 1, 2 or 5 times a power of ten ms, at least `ms`. */
export function niceStep(ms: number): number {
  const minute = 60_000;
  if (ms > minute) {
    for (const m of [1, 2, 5, 10, 15, 30, 60, 120, 240]) if (m * minute >= ms) return m * minute;
    return 480 * minute;
  }
  const power = 10 ** Math.floor(Math.log10(Math.max(ms, 1)));
  for (const k of [1, 2, 5, 10]) if (k * power >= ms) return k * power;
  return 10 * power;
}

/** A time on the axis, in the unit its step calls for. */
export function formatTime(ms: number, step: number): string {
  if (step >= 60_000) {
    const m = Math.floor(ms / 60_000);
    const s = Math.round((ms % 60_000) / 1000);
    return `${m} min${s ? ` ${s} s` : ''}`;
  }
  if (step < 1000 && ms < 1000) return `${Math.round(ms)} ms`;
  const decimals = step >= 1000 ? 0 : step >= 100 ? 1 : step >= 10 ? 2 : 3;
  return `${(ms / 1000).toFixed(decimals)} s`;
}

/** A span of time in words: "20 s", "250 ms", "3 min". */
export function formatSpan(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${+(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return `${+(ms / 60_000).toFixed(1)} min`;
}
