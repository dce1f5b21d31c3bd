/**
 * Value Change Dump (IEEE 1364-2005 §18) as GTKWave, PulseView and Surfer
 * read it: scopes of wires, a picosecond timescale (virtual times are
 * binary fractions of a nanosecond at the chip's clocks), then `#time`
 * and value changes, in time order. Writes text to a sink as it goes.
 */

export type VcdValue = 0 | 1 | 'x';

export interface VcdSignal {
  /** Dotted path: scopes then the wire's name, e.g. "usart1.tx". */
  readonly name: string;
  readonly initial: VcdValue;
}

const PS_PER_NS = 1000;

/** Identifier codes: printable ASCII from '!' (GDB-style short codes, as VCD allows). */
function idCode(i: number): string {
  let s = '';
  let n = i;
  do {
    s += String.fromCharCode(33 + (n % 94));
    n = Math.floor(n / 94);
  } while (n > 0);
  return s;
}

export class VcdWriter {
  private readonly ids = new Map<string, string>();
  private readonly values = new Map<string, VcdValue>();
  private lastPs = -1;
  private started = false;

  constructor(
    private readonly signals: readonly VcdSignal[],
    private readonly sink: (text: string) => void,
  ) {
    signals.forEach((s, i) => {
      this.ids.set(s.name, idCode(i));
      this.values.set(s.name, s.initial);
    });
  }

  /** The header, then every signal's value at `startNs`. */
  begin(startNs: number, comment: string): void {
    const out: string[] = [
      `$comment ${comment} $end`,
      '$timescale 1ps $end',
      ...this.scopes(),
      '$enddefinitions $end',
    ];
    const ps = Math.round(startNs * PS_PER_NS);
    out.push(`#${ps}`, '$dumpvars');
    for (const s of this.signals) out.push(`${this.values.get(s.name)}${this.ids.get(s.name)}`);
    out.push('$end');
    this.lastPs = ps;
    this.started = true;
    this.sink(`${out.join('\n')}\n`);
  }

  /** The value a signal has now (written or not). */
  value(name: string): VcdValue | undefined {
    return this.values.get(name);
  }

  /** Records a change at `timeNs` (not before the last one written); a value unchanged is not written. */
  change(name: string, value: VcdValue, timeNs: number): void {
    const id = this.ids.get(name);
    if (id === undefined || this.values.get(name) === value) return;
    this.values.set(name, value);
    if (!this.started) return;
    const ps = Math.max(this.lastPs, Math.round(timeNs * PS_PER_NS));
    this.sink(`${ps !== this.lastPs ? `#${ps}\n` : ''}${value}${id}\n`);
    this.lastPs = ps;
  }

  /** Closes the dump at `endNs`, so viewers show the last values up to there. */
  end(endNs: number): void {
    if (!this.started) return;
    const ps = Math.round(endNs * PS_PER_NS);
    if (ps > this.lastPs) this.sink(`#${ps}\n`);
  }

  private scopes(): string[] {
    const out: string[] = [];
    let open: string[] = [];
    const sorted = [...this.signals].sort((a, b) => a.name.localeCompare(b.name));
    for (const s of sorted) {
      const parts = ['board', ...s.name.split('.')];
      const leaf = parts.pop()!;
      let common = 0;
      while (common < open.length && common < parts.length && open[common] === parts[common]) common++;
      for (let i = open.length; i > common; i--) out.push('$upscope $end');
      for (let i = common; i < parts.length; i++) out.push(`$scope module ${parts[i]} $end`);
      open = parts;
      out.push(`$var wire 1 ${this.ids.get(s.name)} ${leaf} $end`);
    }
    for (let i = open.length; i > 0; i--) out.push('$upscope $end');
    return out;
  }
}
