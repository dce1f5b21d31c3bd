/**
 * Collects signal changes in virtual time and writes them as VCD, keeping
 * them in time order: a character's bit edges are known when it starts but
 * lie ahead, so they wait until the trace's time passes them. Optional
 * signal selection (glob patterns) and a time window keep files small.
 */
import { type VcdValue, VcdWriter } from './vcd-writer.ts';

export interface TraceWindow {
  /** Virtual time the trace starts at, ns (default: when recording starts). */
  readonly fromNs?: number;
  /** Virtual time after which nothing is recorded, ns (default: none). */
  readonly toNs?: number;
}

export interface RecorderOptions extends TraceWindow {
  /** Patterns of signal names to record ("usart1.*", "dma.ch3.*"; `*` matches anything); default all. */
  readonly signals?: readonly string[];
  readonly sink: (text: string) => void;
  /** Virtual time now, ns. */
  readonly nowNs: () => number;
  readonly comment?: string;
}

interface Edge {
  readonly name: string;
  readonly value: VcdValue;
  readonly timeNs: number;
}

function matcher(patterns: readonly string[] | undefined): (name: string) => boolean {
  if (!patterns || patterns.length === 0) return () => true;
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      ),
  );
  return (name) => res.some((re) => re.test(name));
}

export class TraceRecorder {
  private readonly writer: VcdWriter;
  private readonly selected: ReadonlySet<string>;
  /** Future edges per line, each list in time order. */
  private readonly pending = new Map<string, Edge[]>();
  private readonly fromNs: number;
  private readonly toNs: number;
  private begun = false;
  private ended = false;

  constructor(
    signals: readonly { name: string; initial: VcdValue }[],
    private readonly options: RecorderOptions,
  ) {
    const wanted = matcher(options.signals);
    const kept = signals.filter((s) => wanted(s.name));
    if (kept.length === 0) {
      throw new RangeError(
        `no signal matches ${options.signals?.join(', ')}; the signals are: ${signals.map((s) => s.name).join(', ')}`,
      );
    }
    this.selected = new Set(kept.map((s) => s.name));
    this.writer = new VcdWriter(kept, options.sink);
    this.fromNs = Math.max(options.fromNs ?? options.nowNs(), options.nowNs());
    this.toNs = options.toNs ?? Infinity;
    this.catchUp(options.nowNs());
  }

  /** Whether `name` is recorded (hooks skip work for signals left out). */
  has(name: string): boolean {
    return this.selected.has(name);
  }

  /** A change happening now (or at `atNs`, a moment the caller knows better). */
  set(name: string, value: VcdValue, atNs?: number): void {
    if (!this.selected.has(name) || this.ended) return;
    const now = atNs ?? this.options.nowNs();
    this.catchUp(now);
    this.drop(name);
    this.apply({ name, value, timeNs: now });
  }

  /** Changes ahead of now on one line (a character's bits), replacing what was still ahead on it. */
  schedule(name: string, edges: readonly { value: VcdValue; timeNs: number }[]): void {
    if (!this.selected.has(name) || this.ended) return;
    const now = this.options.nowNs();
    this.catchUp(now);
    const list = this.pending.get(name) ?? [];
    for (const e of edges) list.push({ name, value: e.value, timeNs: e.timeNs });
    this.pending.set(name, list);
    this.catchUp(now);
  }

  /** Writes everything due by now (and the end mark); nothing is recorded after. */
  stop(): void {
    if (this.ended) return;
    const now = Math.min(this.options.nowNs(), this.toNs);
    this.catchUp(now);
    if (!this.begun) this.begin();
    this.writer.end(now);
    this.ended = true;
  }

  /** Writes pending edges due by `now`, in time order, and starts the dump once the window opens. */
  private catchUp(now: number): void {
    for (;;) {
      let next: Edge | undefined;
      for (const list of this.pending.values()) {
        const head = list[0];
        if (head && head.timeNs <= now && (!next || head.timeNs < next.timeNs)) next = head;
      }
      if (!next) break;
      this.pending.get(next.name)!.shift();
      this.apply(next);
    }
    if (!this.begun && now >= this.fromNs) this.begin();
  }

  private begin(): void {
    this.begun = true;
    this.writer.begin(this.fromNs, this.options.comment ?? 'dma-bridge virtual board');
  }

  private apply(edge: Edge): void {
    if (edge.timeNs > this.toNs) {
      this.ended = true;
      return;
    }
    if (!this.begun && edge.timeNs >= this.fromNs) this.begin();
    this.writer.change(edge.name, edge.value, Math.max(edge.timeNs, this.fromNs));
  }

  /** A new change now ends whatever was still ahead on that line. */
  private drop(name: string): void {
    this.pending.delete(name);
  }
}
