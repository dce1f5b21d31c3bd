/**
 * Reads a VCD back (the subset vcd-writer.ts writes and most tools do:
 * scalar wires, `$scope`s, `#time`, `$dumpvars`): for tests and tools that
 * check a trace. Times in the file's timescale units, converted to ns.
 */

export interface VcdTrace {
  /** Signal name (scopes joined by dots, the top scope left out) -> its changes in time order. */
  readonly signals: Map<string, { timeNs: number; value: string }[]>;
  readonly endNs: number;
}

const UNITS: Record<string, number> = { s: 1e9, ms: 1e6, us: 1e3, ns: 1, ps: 1e-3, fs: 1e-6 };

export function parseVcd(text: string): VcdTrace {
  const tokens = text.split(/\s+/).filter((t) => t !== '');
  const byId = new Map<string, string[]>();
  const signals = new Map<string, { timeNs: number; value: string }[]>();
  const scopes: string[] = [];
  let nsPerUnit = 1;
  let time = 0;
  let i = 0;
  const until = (end: string): string[] => {
    const out: string[] = [];
    while (i < tokens.length && tokens[i] !== end) out.push(tokens[i++]!);
    i++;
    return out;
  };
  while (i < tokens.length) {
    const t = tokens[i++]!;
    if (t === '$scope') {
      const [, name] = until('$end');
      scopes.push(name ?? '');
    } else if (t === '$upscope') {
      until('$end');
      scopes.pop();
    } else if (t === '$var') {
      const [, , id, ref] = until('$end');
      const name = [...scopes.slice(1), ref].join('.');
      byId.set(id!, [...(byId.get(id!) ?? []), name]);
      signals.set(name, []);
    } else if (t === '$timescale') {
      const m = /^(\d+)\s*(s|ms|us|ns|ps|fs)$/.exec(until('$end').join(''));
      if (!m) throw new Error('VCD: unreadable $timescale');
      nsPerUnit = Number(m[1]) * UNITS[m[2]!]!;
    } else if (t === '$dumpvars' || t === '$end') {
      // value changes follow as usual
    } else if (t.startsWith('$')) {
      until('$end');
    } else if (t.startsWith('#')) {
      time = Number(t.slice(1)) * nsPerUnit;
    } else {
      const value = t[0]!;
      for (const name of byId.get(t.slice(1)) ?? []) signals.get(name)!.push({ timeNs: time, value });
    }
  }
  return { signals, endNs: time };
}
