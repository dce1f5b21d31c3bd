/**
 * The log of DMA, USART, boot and link events with timestamps. Repeats are
 * folded into the line they repeat ("USART1 ORE × 490 in 2.6 s"), lines
 * can be filtered by kind and searched, and a `role=log` region is
 * announced politely as entries arrive. Entries are drawn once per frame,
 * in one batch, and only the newest are kept, so a stream of events costs
 * the page a constant amount of work.
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
/** A line repeated within this long of its last repeat is folded into it. */
export const COALESCE_MS = 3_000;
/** Kinds whose repeats fold: what the board and the link report. What the user did stays one line each. */
const FOLDED: ReadonlySet<LogKind> = new Set(['dma', 'usart', 'link', 'boot', 'error']);

interface Entry {
  readonly timeMs: number;
  readonly kind: LogKind;
  readonly message: string;
  detail?: string;
  count: number;
  lastMs: number;
  element?: HTMLLIElement;
}

export class EventLog {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly count: HTMLElement;
  private readonly search = h('input', {
    type: 'search',
    id: 'log-search',
    placeholder: 'Search the log',
    autocomplete: 'off',
  });
  private readonly hidden = new Set<LogKind>();
  private readonly filterButtons = new Map<LogKind, HTMLButtonElement>();
  private origin = performance.now();
  private total = 0;
  /** Entries since the last clear, newest last (bounded); drawn or waiting for the next frame. */
  private readonly kept: Entry[] = [];
  /** Entries that may still fold a repeat, by kind and message. */
  private readonly recent = new Map<string, Entry>();
  private readonly dirty = new Set<Entry>();
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
    this.search.addEventListener('input', () => this.applyFilter());
    const filters = h(
      'div',
      { class: 'log-filters', role: 'group', 'aria-label': 'Show kinds' },
      ...(Object.keys(KIND_LABEL) as LogKind[]).map((kind) => {
        const b = button(KIND_LABEL[kind], {
          class: `chip log-filter log-${kind}`,
          id: `log-filter-${kind}`,
          'aria-pressed': 'true',
          title: `Show ${KIND_LABEL[kind]} lines`,
        });
        b.addEventListener('click', () => {
          if (this.hidden.has(kind)) this.hidden.delete(kind);
          else this.hidden.add(kind);
          b.setAttribute('aria-pressed', String(!this.hidden.has(kind)));
          this.applyFilter();
        });
        this.filterButtons.set(kind, b);
        return b;
      }),
    );
    this.element = h(
      'div',
      { class: 'log' },
      h(
        'div',
        { class: 'toolbar' },
        this.count,
        h('label', { for: 'log-search', class: 'visually-hidden' }, 'Search the log'),
        this.search,
        clear,
      ),
      filters,
      this.list,
    );
  }

  /** Timestamps count from here (a new connection). */
  restartClock(): void {
    this.origin = performance.now();
    // Times from before are from another clock: nothing folds into them.
    this.recent.clear();
  }

  /** Milliseconds since the clock was last restarted. */
  now(): number {
    return performance.now() - this.origin;
  }

  add(kind: LogKind, message: string, detail?: string): void {
    const now = this.now();
    this.total++;
    const key = `${kind}\u0000${message}`;
    const repeated = this.recent.get(key);
    if (repeated && FOLDED.has(kind) && now - repeated.lastMs <= COALESCE_MS) {
      repeated.count++;
      repeated.lastMs = now;
      repeated.detail = detail;
      this.dirty.add(repeated);
      this.draw();
      return;
    }
    const entry: Entry = { timeMs: now, kind, message, detail, count: 1, lastMs: now };
    this.recent.set(key, entry);
    this.kept.push(entry);
    this.dirty.add(entry);
    if (this.kept.length > MAX_LOG_ENTRIES) {
      for (const old of this.kept.splice(0, this.kept.length - MAX_LOG_ENTRIES)) {
        old.element?.remove();
        this.dirty.delete(old);
        if (this.recent.get(`${old.kind}\u0000${old.message}`) === old)
          this.recent.delete(`${old.kind}\u0000${old.message}`);
      }
    }
    // Forget keys that can no longer fold anything, so the map stays small.
    if (this.recent.size > 64) {
      for (const [k, e] of this.recent) if (now - e.lastMs > COALESCE_MS) this.recent.delete(k);
    }
    this.draw();
  }

  /** The entries kept, as lines of text. */
  text(): string {
    return this.kept
      .map((e) => `${formatElapsed(e.timeMs).trim()} ${KIND_LABEL[e.kind]} ${line(e)}`)
      .join('\n');
  }

  clear(): void {
    this.kept.length = 0;
    this.recent.clear();
    this.dirty.clear();
    this.list.replaceChildren();
    this.total = 0;
    this.count.textContent = '0 events';
  }

  private render(): void {
    if (this.dirty.size === 0) return;
    const atEnd = scrolledToEnd(this.list);
    const fresh: HTMLLIElement[] = [];
    for (const e of this.dirty) {
      if (!e.element) {
        e.element = h(
          'li',
          { class: `log-entry log-${e.kind}`, 'data-kind': e.kind },
          h('time', {}, formatElapsed(e.timeMs)),
          h('span', { class: 'log-kind' }, KIND_LABEL[e.kind]),
          h('span', { class: 'log-message' }),
        );
        fresh.push(e.element);
      }
      const message = e.element.querySelector('.log-message')!;
      message.replaceChildren(
        e.message,
        e.count > 1
          ? h(
              'span',
              { class: 'log-repeat' },
              ` × ${e.count} in ${((e.lastMs - e.timeMs) / 1000).toFixed(1)} s`,
            )
          : '',
        e.detail ? h('span', { class: 'log-detail' }, ` ${e.detail}`) : '',
      );
      this.filterOne(e.element);
    }
    this.dirty.clear();
    this.list.append(...fresh);
    if (atEnd) this.list.scrollTop = this.list.scrollHeight;
    this.count.textContent = `${this.total} event${this.total === 1 ? '' : 's'} in ${this.kept.length} line${this.kept.length === 1 ? '' : 's'}`;
  }

  private applyFilter(): void {
    for (const li of this.list.children) this.filterOne(li as HTMLElement);
  }

  private filterOne(li: HTMLElement): void {
    const query = this.search.value.trim().toLowerCase();
    const kind = li.dataset.kind as LogKind;
    li.hidden = this.hidden.has(kind) || (query !== '' && !li.textContent!.toLowerCase().includes(query));
  }
}

function line(e: Entry): string {
  const repeat = e.count > 1 ? ` × ${e.count} in ${((e.lastMs - e.timeMs) / 1000).toFixed(1)} s` : '';
  return `${e.message}${repeat}${e.detail ? ` ${e.detail}` : ''}`;
}
