/**
 * The log of DMA, USART, boot and link events with timestamps. A `role=log`
 * region is announced politely as entries arrive. Entries are drawn once
 * per frame, in one batch, and only the newest are kept, so a stream of
 * events costs the page a constant amount of work.
 */
import { button, h } from './dom.ts';
import { formatElapsed } from './format.ts';
import { onNextFrame, scrolledToEnd } from './frame.ts';

export type LogKind = 'dma' | 'usart' | 'boot' | 'link' | 'transfer' | 'peer' | 'error' | 'info';

const KIND_LABEL: Readonly<Record<LogKind, string>> = {
  dma: 'DMA',
  usart: 'USART',
  boot: 'BOOT',
  link: 'LINK',
  transfer: 'XFER',
  peer: 'PEER',
  error: 'ERROR',
  info: 'INFO',
};

export const MAX_LOG_ENTRIES = 500;

interface Entry {
  readonly time: string;
  readonly kind: LogKind;
  readonly message: string;
  readonly detail?: string;
}

export class EventLog {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly count: HTMLElement;
  private origin = performance.now();
  private total = 0;
  private pending: Entry[] = [];
  /** Every entry since the last clear, newest last, for the saved session log (bounded). */
  private readonly kept: Entry[] = [];
  private readonly draw = onNextFrame(() => this.render());

  constructor() {
    this.list = h('ol', {
      class: 'log-list',
      id: 'event-log',
      role: 'log',
      'aria-live': 'polite',
      'aria-label': 'Events',
      tabindex: 0,
    });
    this.count = h('span', { class: 'log-count' }, '0 events');
    const clear = button('Clear log', { id: 'clear-log', class: 'secondary' });
    clear.addEventListener('click', () => this.clear());
    this.element = h('div', { class: 'log' }, h('div', { class: 'toolbar' }, this.count, clear), this.list);
  }

  /** Timestamps count from here (a new connection). */
  restartClock(): void {
    this.origin = performance.now();
  }

  /** Milliseconds since the clock was last restarted. */
  now(): number {
    return performance.now() - this.origin;
  }

  add(kind: LogKind, message: string, detail?: string): void {
    const entry: Entry = { time: formatElapsed(this.now()), kind, message, detail };
    this.total++;
    this.pending.push(entry);
    if (this.pending.length > MAX_LOG_ENTRIES) this.pending.splice(0, this.pending.length - MAX_LOG_ENTRIES);
    this.kept.push(entry);
    if (this.kept.length > MAX_LOG_ENTRIES) this.kept.splice(0, this.kept.length - MAX_LOG_ENTRIES);
    this.draw();
  }

  /** The entries kept, as lines of text. */
  text(): string {
    return this.kept
      .map((e) => `${e.time.trim()} ${KIND_LABEL[e.kind]} ${e.message}${e.detail ? ` ${e.detail}` : ''}`)
      .join('\n');
  }

  clear(): void {
    this.pending = [];
    this.kept.length = 0;
    this.list.replaceChildren();
    this.total = 0;
    this.count.textContent = '0 events';
  }

  private render(): void {
    if (this.pending.length === 0) return;
    const atEnd = scrolledToEnd(this.list);
    const items = this.pending.map((e) =>
      h(
        'li',
        { class: `log-entry log-${e.kind}` },
        h('time', {}, e.time),
        h('span', { class: 'log-kind' }, KIND_LABEL[e.kind]),
        h(
          'span',
          { class: 'log-message' },
          e.message,
          e.detail ? h('span', { class: 'log-detail' }, ` ${e.detail}`) : null,
        ),
      ),
    );
    this.pending = [];
    this.list.append(...items);
    const excess = this.list.childElementCount - MAX_LOG_ENTRIES;
    for (let i = 0; i < excess; i++) this.list.firstElementChild?.remove();
    if (atEnd) this.list.scrollTop = this.list.scrollHeight;
    this.count.textContent = `${this.total} event${this.total === 1 ? '' : 's'}`;
  }
}
