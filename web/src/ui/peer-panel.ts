/**
 * The far end of USART1 on the virtual board: bytes the board sends by DMA
 * show up here, and bytes typed here arrive on the board's RX for a DMA
 * read. Only shown for the virtual board; a real board's USART1 pins are
 * wired to whatever the user wired them to.
 */

import { hexDump, parseHex, printable } from '../../../format/bytes.ts';
import type { PeerControl } from '../transports/virtual-board.ts';
import { button, field, h, panel, setTextFollowingTail } from './dom.ts';
import { atMostEvery } from './frame.ts';
import { InlineError, type ShownError } from './inline-error.ts';

/** Bytes drawn in the dumps; the count above them covers everything. */
const SHOWN_BYTES = 2048;
const DUMP_INTERVAL_MS = 250;

export type DescribeError = (error: unknown, context: string) => ShownError | undefined;

export class PeerPanel {
  readonly element: HTMLElement;
  private peer: PeerControl | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly input = h('input', { type: 'text', id: 'peer-data', value: 'ping', spellcheck: false });
  private readonly hexMode = h('input', { type: 'checkbox', id: 'peer-hex' });
  private readonly ending = h(
    'select',
    { id: 'peer-ending' },
    h('option', { value: 'none' }, 'None'),
    h('option', { value: 'lf' }, 'LF (\\n)'),
    h('option', { value: 'crlf' }, 'CR LF (\\r\\n)'),
  );
  private readonly injectButton = button('Send to board RX', { id: 'peer-inject' });
  private readonly errorButton = button('Send a framing error', { id: 'peer-framing', class: 'secondary' });
  private readonly loopback = h('input', { type: 'checkbox', id: 'peer-loopback' });
  private readonly clearButton = button('Clear', { id: 'peer-clear', class: 'secondary' });
  readonly error = new InlineError('peer-error');
  private readonly summary = h('p', { id: 'peer-summary', 'aria-live': 'polite' }, 'Nothing received.');
  private readonly dumpHex = h('pre', {
    id: 'peer-hex-dump',
    class: 'dump',
    tabindex: 0,
    'aria-label': 'Peer received, hex',
  });
  private readonly dumpText = h('pre', {
    id: 'peer-text',
    class: 'dump text',
    tabindex: 0,
    'aria-label': 'Peer received, text',
  });

  constructor(
    private readonly describe: DescribeError,
    private readonly onActivity: (message: string) => void,
  ) {
    this.injectButton.addEventListener('click', () => this.inject());
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.inject();
    });
    this.errorButton.addEventListener('click', () => {
      this.peer?.injectError('framing', 0x55);
      this.onActivity('sent one character with a framing error');
    });
    this.loopback.addEventListener('change', () => {
      this.peer?.setWiring(this.loopback.checked ? 'loopback' : 'peer');
      this.onActivity(this.loopback.checked ? 'USART1 TX looped back to RX' : 'USART1 wired to the peer');
    });
    this.clearButton.addEventListener('click', () => {
      this.peer?.clear();
      this.render();
    });
    this.element = panel(
      'peer',
      'Virtual peer (USART1 far end)',
      h(
        'div',
        { class: 'row' },
        field('Bytes to send', this.input),
        field('Line ending', this.ending),
        h('div', { class: 'inline-check' }, this.hexMode, h('label', { for: 'peer-hex' }, 'Hex')),
      ),
      h('div', { class: 'actions' }, this.injectButton, this.errorButton),
      this.error.element,
      h(
        'div',
        { class: 'inline-check' },
        this.loopback,
        h('label', { for: 'peer-loopback' }, 'Loopback (TX → RX)'),
      ),
      h('div', { class: 'toolbar' }, h('h3', {}, 'Received from the board'), this.clearButton),
      this.summary,
      h('div', { class: 'dumps' }, this.dumpHex, this.dumpText),
    );
    this.attach(undefined);
  }

  attach(peer: PeerControl | undefined): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.peer = peer;
    this.element.hidden = !peer;
    for (const b of [this.injectButton, this.errorButton, this.clearButton]) b.disabled = !peer;
    this.loopback.disabled = !peer;
    this.loopback.checked = false;
    // However fast bytes come, the dumps are drawn at most once a frame, from the bounded record.
    if (peer) this.unsubscribe = peer.onBytes(this.draw);
    this.render();
  }

  /** The dumps are redrawn whole (from a bounded tail): a few times a second is enough. */
  private readonly draw = atMostEvery(DUMP_INTERVAL_MS, () => this.render());

  private inject(): void {
    if (!this.peer) return;
    try {
      // The line ending goes after the bytes, typed as text or as hex.
      const body = this.hexMode.checked
        ? parseHex(this.input.value)
        : new TextEncoder().encode(this.input.value);
      const ending = new TextEncoder().encode(
        ({ none: '', lf: '\n', crlf: '\r\n' } as Record<string, string>)[this.ending.value] ?? '',
      );
      const bytes = new Uint8Array(body.length + ending.length);
      bytes.set(body);
      bytes.set(ending, body.length);
      this.peer.inject(bytes);
      this.onActivity(`sent ${bytes.length} byte${bytes.length === 1 ? '' : 's'} to the board's RX`);
    } catch (e) {
      const shown = this.describe(e, 'Peer');
      if (shown) this.error.show(shown);
    }
  }

  private render(): void {
    const total = this.peer?.receivedCount() ?? 0;
    const shown = this.peer ? this.peer.received().subarray(-SHOWN_BYTES) : new Uint8Array(0);
    const count = `${total} byte${total === 1 ? '' : 's'} received`;
    this.summary.textContent =
      total === 0
        ? 'Nothing received.'
        : shown.length < total
          ? `${count}, the last ${shown.length} shown`
          : count;
    // The side column is narrow: eight bytes a row keep the dump from scrolling sideways.
    // The newest bytes are the interesting ones: keep the end in view.
    setTextFollowingTail(
      this.dumpHex,
      hexDump(shown, { perRow: 8, start: total - shown.length, text: false }).join('\n'),
    );
    setTextFollowingTail(this.dumpText, printable(shown));
  }
}
