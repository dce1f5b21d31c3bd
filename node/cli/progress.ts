/**
 * Progress of a long operation on stderr: a bar redrawn in place when
 * stderr is a terminal, plain percentage lines (every 10%) when it is a
 * file or a pipe, where carriage returns would only make a mess of a log.
 */
import { byteSize } from '../../format/bytes.ts';
import type { CliIo } from './io.ts';

export interface Progress {
  /** `done` bytes of the total are through. */
  update(done: number): void;
  /** The operation ended: the bar's line is finished (100% only if all of it went through). */
  finish(): void;
}

export interface ProgressOptions {
  readonly label: string;
  /** Bytes in all; undefined for a stream of unknown length (stdin, a device): a running count then. */
  readonly total: number | undefined;
  /** Milliseconds, for the rate; performance.now() by default. */
  readonly now?: () => number;
}

const BAR_WIDTH = 24;
/** Redraws at most this often: a fast writer must not spend its time drawing. */
const REDRAW_MS = 100;

export function createProgress(io: CliIo, options: ProgressOptions): Progress {
  return io.stderrIsTty ? new BarProgress(io, options) : new LineProgress(io, options);
}

class BarProgress implements Progress {
  private readonly started: number;
  private lastDraw = -Infinity;
  private done = 0;
  private drawn = false;
  private readonly now: () => number;

  constructor(
    private readonly io: CliIo,
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
  }

  update(done: number): void {
    this.done = done;
    const t = this.now();
    if (t - this.lastDraw < REDRAW_MS && (this.options.total === undefined || done < this.options.total))
      return;
    this.lastDraw = t;
    this.draw(t);
  }

  finish(): void {
    this.draw(this.now());
    if (this.drawn) this.io.errRaw('\n');
  }

  private draw(t: number): void {
    const { total, label } = this.options;
    const seconds = (t - this.started) / 1000;
    const rate = seconds > 0 ? `  ${byteSize(Math.round(this.done / seconds))}/s` : '';
    let line: string;
    if (total === undefined) {
      line = `${label} ${byteSize(this.done)}${rate}`;
    } else {
      const fraction = total === 0 ? 1 : Math.min(1, this.done / total);
      const filled = Math.round(fraction * BAR_WIDTH);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
      line = `${label} [${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${byteSize(this.done)} of ${byteSize(total)}${rate}`;
    }
    // \r and erase-to-end redraw the line in place; never wider than the terminal.
    this.io.errRaw(`\r${line.slice(0, Math.max(20, this.io.stderrColumns - 1))}\x1b[K`);
    this.drawn = true;
  }
}

class LineProgress implements Progress {
  private lastStep = 0;
  private done = 0;

  constructor(
    private readonly io: CliIo,
    private readonly options: ProgressOptions,
  ) {}

  update(done: number): void {
    this.done = done;
    const { total, label } = this.options;
    if (total === undefined) {
      // A stream of unknown length: a line per 256 KiB.
      const step = Math.floor(done / (256 << 10));
      if (step <= this.lastStep) return;
      this.lastStep = step;
      this.io.note(`${label}: ${byteSize(done)}`);
      return;
    }
    const step = total === 0 ? 10 : Math.floor((Math.min(done, total) / total) * 10);
    if (step <= this.lastStep) return;
    this.lastStep = step;
    this.io.note(`${label}: ${step * 10}% (${done} of ${total} bytes)`);
  }

  finish(): void {
    this.update(this.done);
  }
}
