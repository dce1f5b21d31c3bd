/**
 * The terminal's output, drawn by xterm.js: what USART1 received decoded as
 * UTF-8 with ANSI colours and control sequences acting as in any terminal
 * (or as hex), what the console sent marked on lines of its own, optional
 * timestamps at the start of each line, scrollback, selection to copy and
 * search. xterm.js loads on its own after the page; output that comes
 * first waits for it. A bounded transcript of the raw bytes is kept for
 * saving and for redrawing in another mode; pausing stops drawing, not
 * recording.
 */

import { hexBytes } from '../../../format/bytes.ts';
import { h } from './dom.ts';
import { onNextFrame } from './frame.ts';
import type { FitAddon, SearchAddon, Terminal } from './xterm-loader.ts';

export type TerminalMode = 'text' | 'hex';
export type Direction = 'rx' | 'tx';

/** Lines xterm.js keeps above the screen. */
export const SCROLLBACK_LINES = 20_000;
/** Bytes of transcript kept for "save log" and for redrawing. */
const TRANSCRIPT_BYTES = 1024 * 1024;
/** On a mode switch, at most this much of the transcript is drawn again. */
const REDRAW_BYTES = 256 * 1024;
const HEX_PER_LINE = 16;
const TX_STYLE = '\x1b[36m';
const STAMP_STYLE = '\x1b[2m';
const RESET_STYLE = '\x1b[0m';
/** Colour sequences (SGR), removed from the saved text. */
const SGR = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;]*m`, 'g');

interface Chunk {
  readonly timeMs: number;
  readonly direction: Direction;
  readonly bytes: Uint8Array;
}

type XtermModule = typeof import('./xterm-loader.ts');

/** The colours xterm.js draws with, from the page's own (light or dark). */
function themeFromPage(element: HTMLElement): Record<string, string> {
  const style = getComputedStyle(element);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    background: v('--term-bg', '#0f1419'),
    foreground: v('--term-fg', '#e3e7ec'),
    cursor: v('--term-fg', '#e3e7ec'),
    selectionBackground: v('--term-selection', '#3a5f8a'),
  };
}

export class TerminalView {
  readonly element: HTMLElement;
  /** Resolves once xterm.js is drawing. */
  readonly ready: Promise<void>;
  private term: Terminal | undefined;
  private fit: FitAddon | undefined;
  private search: SearchAddon | undefined;
  private modeValue: TerminalMode = 'text';
  private timestampsValue = false;
  private pausedValue = false;
  private transcript: Chunk[] = [];
  private transcriptBytes = 0;
  private pending: Chunk[] = [];
  /** Formatting state: where the last formatted byte left the line. */
  private atLineStart = true;
  private hexColumn = 0;
  private lastDirection: Direction | undefined;
  private decoder = new TextDecoder('utf-8');
  private totalRx = 0;
  private readonly draw = onNextFrame(() => this.render());

  constructor(
    id: string,
    private readonly clock: () => number,
    load: () => Promise<XtermModule> = () => import('./xterm-loader.ts'),
  ) {
    this.element = h(
      'div',
      { id, class: 'terminal-output', role: 'region', 'aria-label': 'Terminal output' },
      h('p', { class: 'terminal-loading hint' }, 'Loading the terminal…'),
    );
    this.ready = load().then((m) => this.mount(m));
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
    if (!this.pausedValue) this.draw();
  }

  clear(): void {
    this.transcript = [];
    this.transcriptBytes = 0;
    this.pending = [];
    this.totalRx = 0;
    this.resetFormatting();
    this.term?.reset();
  }

  /** The received bytes kept, decoded as UTF-8 (for tests and the plotter's back-fill). */
  receivedText(): string {
    const rx = this.transcript.filter((c) => c.direction === 'rx');
    const all = new Uint8Array(rx.reduce((n, c) => n + c.bytes.length, 0));
    let at = 0;
    for (const c of rx) {
      all.set(c.bytes, at);
      at += c.bytes.length;
    }
    return new TextDecoder().decode(all);
  }

  /** What xterm.js shows, line by line (scrollback included), without trailing blanks. */
  screenText(): string {
    const buffer = this.term?.buffer.active;
    if (!buffer) return '';
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) {
      const line = buffer.getLine(i);
      if (!line) continue;
      const text = line.translateToString(true).trimEnd();
      if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
      else lines.push(text);
    }
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines.join('\n');
  }

  /** Selects the next (or previous) match of `query`; false when there is none. */
  find(query: string, backwards = false): boolean {
    if (!this.search || query === '') return false;
    return backwards ? this.search.findPrevious(query) : this.search.findNext(query);
  }

  /** The selection, or everything on screen and in the scrollback when nothing is selected. */
  selectionOrAll(): string {
    const selected = this.term?.getSelection() ?? '';
    return selected !== '' ? selected : this.screenText();
  }

  focus(): void {
    this.term?.focus();
  }

  /** Follows a change of the page's colours (light or dark). */
  restyle(): void {
    if (this.term) this.term.options.theme = themeFromPage(this.element);
  }

  /** The session as plain text, every line stamped, for saving. */
  transcriptText(): string {
    const saved = { stamps: this.timestampsValue, mode: this.modeValue };
    this.timestampsValue = true;
    this.modeValue = 'text';
    this.resetFormatting();
    const text = this.transcript
      .map((c) => this.format(c))
      .join('')
      // The saved text has no colours.
      .replace(SGR, '');
    this.timestampsValue = saved.stamps;
    this.modeValue = saved.mode;
    // The formatting state belongs to what is on screen: draw it again.
    this.redrawAll();
    return text;
  }

  private mount(m: XtermModule): void {
    const term = new m.Terminal({
      convertEol: true,
      disableStdin: true,
      scrollback: SCROLLBACK_LINES,
      fontFamily: getComputedStyle(this.element).getPropertyValue('--mono').trim() || 'monospace',
      fontSize: 14,
      cursorStyle: 'underline',
      cursorInactiveStyle: 'none',
      theme: themeFromPage(this.element),
    });
    this.fit = new m.FitAddon();
    this.search = new m.SearchAddon();
    term.loadAddon(this.fit);
    term.loadAddon(this.search);
    // The terminal is output only: Tab and Shift+Tab move focus on, as everywhere on the page.
    term.attachCustomKeyEventHandler((e) => e.key !== 'Tab');
    this.element.replaceChildren();
    term.open(this.element);
    term.textarea?.setAttribute('aria-label', 'Terminal output (select to copy)');
    this.term = term;
    const refit = () => {
      if (this.element.clientWidth > 0 && this.element.clientHeight > 0) this.fit?.fit();
    };
    new ResizeObserver(refit).observe(this.element);
    refit();
    this.redrawAll();
  }

  private render(): void {
    const term = this.term;
    if (!term || this.pausedValue || this.pending.length === 0) return;
    const text = this.pending.map((c) => this.format(c)).join('');
    this.pending = [];
    term.write(text);
  }

  /** Draws the newest part of the transcript afresh (a new mode, timestamps switched). */
  private redrawAll(): void {
    this.resetFormatting();
    this.term?.reset();
    const shown: Chunk[] = [];
    let budget = REDRAW_BYTES;
    for (let i = this.transcript.length - 1; i >= 0 && budget > 0; i--) {
      shown.unshift(this.transcript[i]!);
      budget -= this.transcript[i]!.bytes.length;
    }
    this.pending = shown;
    if (!this.pausedValue) this.draw();
  }

  private resetFormatting(): void {
    this.atLineStart = true;
    this.hexColumn = 0;
    this.lastDirection = undefined;
    this.decoder = new TextDecoder('utf-8');
  }

  /** The chunk as terminal text, continuing the line the previous chunk left. */
  private format(chunk: Chunk): string {
    let out = '';
    // Sent and received bytes never share a line.
    if (this.lastDirection !== undefined && this.lastDirection !== chunk.direction) {
      if (this.lastDirection === 'rx') out += this.decoder.decode();
      if (!this.atLineStart) out += '\n';
      this.atLineStart = true;
      this.hexColumn = 0;
    }
    this.lastDirection = chunk.direction;
    const tx = chunk.direction === 'tx';
    const stamp = () => {
      this.atLineStart = false;
      const time = this.timestampsValue
        ? `${STAMP_STYLE}[${(chunk.timeMs / 1000).toFixed(3).padStart(9)}]${RESET_STYLE} `
        : '';
      return tx ? `${time}${TX_STYLE}→ ` : time;
    };
    if (this.modeValue === 'hex') {
      for (const byte of chunk.bytes) {
        if (this.atLineStart) out += stamp();
        out += hexBytes(Uint8Array.of(byte));
        this.hexColumn++;
        if (this.hexColumn === HEX_PER_LINE) {
          out += `${tx ? RESET_STYLE : ''}\n`;
          this.hexColumn = 0;
          this.atLineStart = true;
        } else out += ' ';
      }
      return tx && !this.atLineStart ? `${out}${RESET_STYLE}` : out;
    }
    // What was sent is shown as typed, control characters pictured (a line ending, say).
    const text = tx
      ? pictureControls(new TextDecoder().decode(chunk.bytes))
      : this.decoder.decode(chunk.bytes, { stream: true });
    for (const piece of text.split(/(?<=\n)/)) {
      if (piece === '') continue;
      if (this.atLineStart) out += stamp();
      out += piece;
      if (piece.endsWith('\n')) this.atLineStart = true;
    }
    return tx ? `${out}${RESET_STYLE}` : out;
  }
}

/** Control characters of a sent line as their pictures (U+2400...), the line feed kept as a new line. */
function pictureControls(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code === 0x0a) out += '␊\n';
    else if (code < 0x20) out += String.fromCharCode(0x2400 + code);
    else if (code === 0x7f) out += '␡';
    else out += ch;
  }
  return out;
}
