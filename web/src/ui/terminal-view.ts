/**
 * The terminal's output: what USART1 received (and what was sent, marked)
 * as text with control characters shown, or as hex, with optional
 * timestamps at the start of each line. New bytes are appended as one
 * node per frame, never by redrawing what is already there; the oldest
 * output is dropped past a fixed size, and the transcript kept for saving
 * is bounded too. Pausing stops drawing, not recording.
 */

import { hexBytes } from '../../../format/bytes.ts';
import { h } from './dom.ts';
import { onNextFrame, scrolledToEnd } from './frame.ts';

export type TerminalMode = 'text' | 'hex';
export type Direction = 'rx' | 'tx';

/** Characters the view holds before its oldest output is dropped. */
export const SCROLLBACK_CHARS = 200_000;
/** Bytes of transcript kept for "save log". */
const TRANSCRIPT_BYTES = 1024 * 1024;
const HEX_PER_LINE = 16;
/** Text lines longer than this are wrapped by the view, so no line grows without end. */
const WRAP_COLUMNS = 160;
/**
 * Output goes into blocks of about this many characters: appending lays out
 * the last block only, however much scrollback there is above it.
 */
const BLOCK_CHARS = 4096;

interface Chunk {
  readonly timeMs: number;
  readonly direction: Direction;
  readonly bytes: Uint8Array;
}

/** Control characters as the Unicode control pictures (U+2400...), so they show instead of acting. */
export function showControl(byte: number): string {
  if (byte === 0x0a) return '␊\n';
  if (byte < 0x20) return String.fromCharCode(0x2400 + byte);
  if (byte === 0x7f) return '␡';
  if (byte > 0x7f) return '·';
  return String.fromCharCode(byte);
}

export class TerminalView {
  readonly element: HTMLPreElement;
  private modeValue: TerminalMode = 'text';
  private timestampsValue = false;
  private pausedValue = false;
  private transcript: Chunk[] = [];
  private transcriptBytes = 0;
  private pending: Chunk[] = [];
  private pendingBytes = 0;
  /** Drawing state: where the last drawn byte left the line. */
  private atLineStart = true;
  private hexColumn = 0;
  private lastDirection: Direction | undefined;
  private column = 0;
  private drawnChars = 0;
  private lastBlock: HTMLElement | undefined;
  private readonly blockChars = new WeakMap<Node, number>();
  private totalRx = 0;
  private readonly draw = onNextFrame(() => this.render());

  constructor(
    id: string,
    private readonly clock: () => number,
  ) {
    this.element = h('pre', {
      id,
      class: 'terminal-output',
      tabindex: 0,
      'aria-label': 'Terminal output',
    });
  }

  get mode(): TerminalMode {
    return this.modeValue;
  }

  get receivedBytes(): number {
    return this.totalRx;
  }

  setMode(mode: TerminalMode): void {
    if (mode === this.modeValue) return;
    this.modeValue = mode;
    this.redrawAll();
  }

  setTimestamps(on: boolean): void {
    if (on === this.timestampsValue) return;
    this.timestampsValue = on;
    this.redrawAll();
  }

  setPaused(paused: boolean): void {
    this.pausedValue = paused;
    if (!paused) this.draw();
  }

  push(direction: Direction, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (direction === 'rx') this.totalRx += bytes.length;
    const chunk: Chunk = { timeMs: this.clock(), direction, bytes: bytes.slice() };
    this.transcript.push(chunk);
    this.transcriptBytes += bytes.length;
    while (this.transcriptBytes > TRANSCRIPT_BYTES && this.transcript.length > 1) {
      this.transcriptBytes -= this.transcript.shift()!.bytes.length;
    }
    this.pending.push(chunk);
    this.pendingBytes += bytes.length;
    if (!this.pausedValue) this.draw();
  }

  clear(): void {
    this.transcript = [];
    this.transcriptBytes = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.totalRx = 0;
    this.resetDrawing();
    this.element.replaceChildren();
  }

  /** The session as plain text, every line stamped, for saving. */
  transcriptText(): string {
    const saved = { mode: this.modeValue, stamps: this.timestampsValue };
    this.timestampsValue = true;
    this.resetDrawing();
    const text = this.transcript.map((c) => this.format(c)).join('');
    this.timestampsValue = saved.stamps;
    // The drawing state belongs to what is on screen: put it back by drawing again.
    this.redrawAll();
    return text;
  }

  private render(): void {
    if (this.pausedValue || this.pending.length === 0) return;
    // Far more than fits: draw the end of the transcript afresh instead of appending it all.
    if (this.pendingBytes * 3 > SCROLLBACK_CHARS) {
      this.redrawAll();
      return;
    }
    const atEnd = scrolledToEnd(this.element);
    this.append(this.pending);
    if (atEnd) this.element.scrollTop = this.element.scrollHeight;
  }

  private append(chunks: readonly Chunk[]): void {
    for (const chunk of chunks) {
      // A new block starts only at the start of a line, so no line is split between two.
      const startsLine = this.atLineStart || this.lastDirection !== chunk.direction;
      const text = this.format(chunk);
      let block = this.lastBlock;
      if (!block || ((this.blockChars.get(block) ?? 0) > BLOCK_CHARS && startsLine)) {
        block = h('div', { class: 'terminal-block' });
        this.element.append(block);
        this.lastBlock = block;
      }
      block.append(chunk.direction === 'tx' ? h('span', { class: 'tx' }, text) : text);
      this.blockChars.set(block, (this.blockChars.get(block) ?? 0) + text.length);
      this.drawnChars += text.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    // Drop the oldest blocks past the scrollback size.
    while (
      this.drawnChars > SCROLLBACK_CHARS &&
      this.element.firstChild &&
      this.element.firstChild !== this.lastBlock
    ) {
      const first = this.element.firstChild;
      this.drawnChars -= this.blockChars.get(first) ?? 0;
      first.remove();
    }
  }

  /** Draws the newest part of the transcript afresh (a new mode, timestamps switched, a flood). */
  private redrawAll(): void {
    this.resetDrawing();
    this.element.replaceChildren();
    // Only what fits the scrollback: the newest chunks, up to three characters a byte in hex.
    const shown: Chunk[] = [];
    let budget = SCROLLBACK_CHARS / 3;
    for (let i = this.transcript.length - 1; i >= 0 && budget > 0; i--) {
      shown.unshift(this.transcript[i]!);
      budget -= this.transcript[i]!.bytes.length;
    }
    if (this.pausedValue) {
      this.pending = shown;
      this.pendingBytes = 0;
      return;
    }
    this.append(shown);
    this.element.scrollTop = this.element.scrollHeight;
  }

  private resetDrawing(): void {
    this.atLineStart = true;
    this.hexColumn = 0;
    this.lastDirection = undefined;
    this.column = 0;
    this.drawnChars = 0;
    this.lastBlock = undefined;
  }

  /** The chunk as text, continuing the line the previous chunk left. */
  private format(chunk: Chunk): string {
    let out = '';
    // Sent and received bytes never share a line.
    if (this.lastDirection !== undefined && this.lastDirection !== chunk.direction && !this.atLineStart) {
      out += '\n';
      this.atLineStart = true;
      this.hexColumn = 0;
      this.column = 0;
    }
    this.lastDirection = chunk.direction;
    const stamp = () => {
      if (!this.atLineStart) return '';
      this.atLineStart = false;
      const prefix = chunk.direction === 'tx' ? '→ ' : '';
      return this.timestampsValue ? `[${(chunk.timeMs / 1000).toFixed(3).padStart(9)}] ${prefix}` : prefix;
    };
    if (this.modeValue === 'hex') {
      for (const byte of chunk.bytes) {
        out += `${stamp()}${hexBytes(Uint8Array.of(byte))}`;
        this.hexColumn++;
        if (this.hexColumn === HEX_PER_LINE) {
          out += '\n';
          this.hexColumn = 0;
          this.atLineStart = true;
        } else out += ' ';
      }
      return out;
    }
    for (const byte of chunk.bytes) {
      out += stamp() + showControl(byte);
      if (byte === 0x0a) {
        this.atLineStart = true;
        this.column = 0;
      } else if (++this.column === WRAP_COLUMNS) {
        out += '\n';
        this.column = 0;
      }
    }
    return out;
  }
}
