/**
 * The log of DMA, USART, boot and link events with timestamps. A `role=log`
 * region is announced politely as entries arrive; old entries are dropped
 * so a long session stays light.
 */
import { button, h } from './dom.ts';
import { formatElapsed } from './format.ts';

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

const MAX_ENTRIES = 500;

export class EventLog {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly count: HTMLElement;
  private origin = performance.now();
  private total = 0;

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

  add(kind: LogKind, message: string, detail?: string): void {
    const time = formatElapsed(performance.now() - this.origin);
    const item = h(
      'li',
      { class: `log-entry log-${kind}` },
      h('time', {}, time),
      h('span', { class: 'log-kind' }, KIND_LABEL[kind]),
      h(
        'span',
        { class: 'log-message' },
        message,
        detail ? h('span', { class: 'log-detail' }, ` ${detail}`) : null,
      ),
    );
    // Follow new entries only when the reader is already at the bottom.
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 24;
    this.list.append(item);
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
    while (this.list.childElementCount > MAX_ENTRIES) this.list.firstElementChild?.remove();
    this.total++;
    this.count.textContent = `${this.total} event${this.total === 1 ? '' : 's'}`;
  }

  clear(): void {
    this.list.replaceChildren();
    this.total = 0;
    this.count.textContent = '0 events';
  }
}
