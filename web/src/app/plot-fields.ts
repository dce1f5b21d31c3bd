/**
 * Numbers in received text lines, as a serial plotter reads them: named
 * fields (`temp=23.5 adc=1234`, `temp:23.5`) or, on a line of numbers only,
 * one field per column (`1.5, 2, -3` or `1.5 2 -3`), named by position.
 */

export type Sample = ReadonlyMap<string, number>;

const NUMBER = '[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?';
const NAMED = new RegExp(`([A-Za-z_][\\w.]*)\\s*[=:]\\s*(${NUMBER})(?![\\w.])`, 'g');
const ONLY_NUMBER = new RegExp(`^${NUMBER}$`);

/** The fields of one line; empty when it holds no numbers to plot. */
export function parseFields(line: string): Sample {
  const fields = new Map<string, number>();
  for (const m of line.matchAll(NAMED)) fields.set(m[1]!, Number(m[2]));
  if (fields.size > 0) return fields;
  const tokens = line
    .trim()
    .split(/[\s,;\t]+/)
    .filter((t) => t !== '');
  if (tokens.length === 0 || !tokens.every((t) => ONLY_NUMBER.test(t))) return fields;
  for (const [i, t] of tokens.entries()) fields.set(String(i + 1), Number(t));
  return fields;
}

/** Splits a received stream into lines (LF, CR LF or CR) and hands each one's fields on. */
export class LineFields {
  private partial = '';
  private readonly decoder = new TextDecoder();
  /** A line longer than this is no line a plotter reads: dropped. */
  private static readonly MAX_LINE = 1024;

  constructor(private readonly onSample: (sample: Sample) => void) {}

  push(bytes: Uint8Array): void {
    const text = this.partial + this.decoder.decode(bytes, { stream: true });
    const lines = text.split(/\r\n|\n|\r/);
    this.partial = lines.pop() ?? '';
    if (this.partial.length > LineFields.MAX_LINE) this.partial = '';
    for (const line of lines) {
      const sample = parseFields(line);
      if (sample.size > 0) this.onSample(sample);
    }
  }
}
