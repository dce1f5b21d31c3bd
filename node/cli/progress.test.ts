/** The progress display: a bar on a terminal, percentage lines in a log. */
import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.ts';
import { createProgress } from './progress.ts';

function fakeIo(tty: boolean) {
  const notes: string[] = [];
  let raw = '';
  const io: CliIo = {
    out: () => {},
    note: (line) => notes.push(line),
    outBytes: async () => {},
    errRaw: (text) => {
      raw += text;
    },
    stderrIsTty: tty,
    stderrColumns: 100,
    interrupted: new AbortController().signal,
  };
  return { io, notes, raw: () => raw };
}

describe('progress', () => {
  it('prints a line at each 10% step when stderr is not a terminal, each step once', () => {
    const { io, notes, raw } = fakeIo(false);
    const progress = createProgress(io, { label: 'write', total: 1000 });
    for (const done of [50, 100, 150, 480, 480, 1000]) progress.update(done);
    progress.finish();
    expect(notes).toEqual([
      'write: 10% (100 of 1000 bytes)',
      'write: 40% (480 of 1000 bytes)',
      'write: 100% (1000 of 1000 bytes)',
    ]);
    expect(raw()).toBe('');
  });

  it('redraws one bar in place on a terminal and ends its line when finished', () => {
    const { io, notes, raw } = fakeIo(true);
    let t = 0;
    const progress = createProgress(io, { label: 'write', total: 4096, now: () => t });
    t = 500;
    progress.update(1024);
    t = 520; // too soon to redraw
    progress.update(2048);
    t = 1000;
    progress.update(4096);
    progress.finish();
    const frames = raw().split('\r').filter(Boolean);
    expect(notes).toEqual([]);
    const ERASE = '\x1b[K';
    expect(frames[0]).toBe(`write [######${'-'.repeat(18)}]  25%  1.0 KiB of 4.0 KiB  2.0 KiB/s${ERASE}`);
    expect(frames.at(-1)).toBe(`write [${'#'.repeat(24)}] 100%  4.0 KiB of 4.0 KiB  4.0 KiB/s${ERASE}\n`);
    expect(frames).toHaveLength(3);
  });
});
