/**
 * A serial terminal on USART1: what it receives in xterm.js (UTF-8 text
 * with ANSI colours, or hex; timestamps on or off; pause, clear, copy,
 * search, save), a line to send with the chosen line ending and a history
 * (↑ and ↓), and the line settings. It listens from the moment USART1 is
 * taken, by circular DMA reception; a reception another panel starts
 * borrows the receiver and hands it back.
 */
import type { SerialSettings } from '../app/serial-settings.ts';
import { button, card, field, h } from './dom.ts';
import { InlineError, type ShownError } from './inline-error.ts';
import { type TerminalMode, TerminalView } from './terminal-view.ts';

export type LineEnding = 'none' | 'lf' | 'cr' | 'crlf';

const ENDINGS: Readonly<Record<LineEnding, string>> = { none: '', lf: '\n', cr: '\r', crlf: '\r\n' };
const HISTORY_LINES = 50;
const COMMON_BAUD_RATES = [9600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600];

/** What the terminal asks of the board; every call ends when its signal aborts. */
export interface TerminalActions {
  send(bytes: Uint8Array, signal: AbortSignal): Promise<void>;
  /** Receives continuously, handing over bytes as they arrive (and when the line goes idle). */
  listen(onData: (bytes: Uint8Array) => void, signal: AbortSignal): Promise<void>;
  configure(settings: SerialSettings): Promise<void>;
  readonly settings: SerialSettings;
}

export interface TerminalHandlers {
  /** Turns an error into words for the user (and logs it). */
  describe(error: unknown, context: string): ShownError | undefined;
  /** The whole session as text for "save log" (the terminal's transcript and the event log). */
  sessionLog(): string;
  /** Every byte USART1 received, after the terminal has it (the plotter reads it too). */
  received?(bytes: Uint8Array): void;
}

export class TerminalPanel {
  readonly element: HTMLElement;
  readonly view: TerminalView;
  readonly error = new InlineError('terminal-error');
  private actions: TerminalActions | undefined;
  private listening: AbortController | undefined;
  private sending = false;
  private readonly history: string[] = [];
  private historyIndex = 0;
  private draft = '';
  private readonly input = h('input', {
    type: 'text',
    id: 'terminal-input',
    autocomplete: 'off',
    spellcheck: false,
    placeholder: 'Type a line, Enter sends',
  });
  private readonly ending = h(
    'select',
    { id: 'terminal-ending' },
    h('option', { value: 'none' }, 'None'),
    h('option', { value: 'lf', selected: true }, 'LF (\\n)'),
    h('option', { value: 'cr' }, 'CR (\\r)'),
    h('option', { value: 'crlf' }, 'CR LF (\\r\\n)'),
  );
  private readonly sendButton = button('Send line', { id: 'terminal-send', class: 'primary' });
  private readonly listenButton = button('Stop listening', {
    id: 'terminal-listen',
    class: 'secondary',
    'aria-pressed': 'true',
  });
  private readonly copyButton = button('Copy', { id: 'terminal-copy', class: 'secondary' });
  private readonly searchInput = h('input', {
    type: 'search',
    id: 'terminal-search',
    placeholder: 'Find in output',
    autocomplete: 'off',
    spellcheck: false,
  });
  private readonly findPrevButton = button('↑', {
    id: 'terminal-find-prev',
    class: 'secondary icon',
    'aria-label': 'Previous match',
  });
  private readonly findNextButton = button('↓', {
    id: 'terminal-find-next',
    class: 'secondary icon',
    'aria-label': 'Next match',
  });
  private readonly findStatus = h('span', {
    id: 'terminal-find-status',
    class: 'hint',
    'aria-live': 'polite',
  });
  /** Whether the user wants the terminal to listen (it does unless they stopped it). */
  private wantListening = true;
  /** Receptions of other panels holding the receiver. */
  private borrowed = 0;
  private readonly mode = h(
    'select',
    { id: 'terminal-mode' },
    h('option', { value: 'text' }, 'Text'),
    h('option', { value: 'hex' }, 'Hex'),
  );
  private readonly timestamps = h('input', { type: 'checkbox', id: 'terminal-timestamps' });
  private readonly pause = h('input', { type: 'checkbox', id: 'terminal-pause' });
  private readonly clearButton = button('Clear', { id: 'terminal-clear', class: 'secondary' });
  private readonly saveButton = button('Save log', { id: 'terminal-save', class: 'secondary' });
  private readonly status = h(
    'p',
    { id: 'terminal-status', class: 'hint', 'aria-live': 'polite' },
    'Not connected.',
  );
  private readonly baud = h('input', {
    type: 'number',
    id: 'usart-baud',
    min: 1000,
    max: 4_000_000,
    step: 1,
    value: 115_200,
    list: 'usart-baud-rates',
  });
  private readonly dataBits = h(
    'select',
    { id: 'usart-data-bits' },
    h('option', { value: '8', selected: true }, '8'),
    h('option', { value: '7' }, '7'),
  );
  private readonly parity = h(
    'select',
    { id: 'usart-parity' },
    h('option', { value: 'none', selected: true }, 'None'),
    h('option', { value: 'even' }, 'Even'),
    h('option', { value: 'odd' }, 'Odd'),
  );
  private readonly stopBits = h(
    'select',
    { id: 'usart-stop-bits' },
    h('option', { value: '1', selected: true }, '1'),
    h('option', { value: '2' }, '2'),
  );
  private readonly applyButton = button('Apply', { id: 'usart-apply' });
  private readonly linkRate = h('span', { id: 'link-rate', class: 'mono' }, '—');

  constructor(
    clock: () => number,
    private readonly handlers: TerminalHandlers,
  ) {
    this.view = new TerminalView('terminal-output', clock);
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    this.sendButton.addEventListener('click', () => void this.sendLine());
    this.listenButton.addEventListener('click', () => void this.toggleListening());
    this.mode.addEventListener('change', () => this.view.setMode(this.mode.value as TerminalMode));
    this.timestamps.addEventListener('change', () => this.view.setTimestamps(this.timestamps.checked));
    this.pause.addEventListener('change', () => this.view.setPaused(this.pause.checked));
    this.clearButton.addEventListener('click', () => this.view.clear());
    this.saveButton.addEventListener('click', () => this.save());
    this.copyButton.addEventListener('click', () => void this.copy());
    this.applyButton.addEventListener('click', () => void this.applySettings());
    const find = (backwards: boolean) => {
      const found = this.view.find(this.searchInput.value, backwards);
      this.findStatus.textContent = this.searchInput.value === '' ? '' : found ? '' : 'No match';
    };
    this.searchInput.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      find(e.shiftKey);
    });
    this.findPrevButton.addEventListener('click', () => find(true));
    this.findNextButton.addEventListener('click', () => find(false));

    const toolbar = h(
      'div',
      { class: 'toolbar terminal-toolbar' },
      field('View', this.mode),
      h(
        'div',
        { class: 'inline-check' },
        this.timestamps,
        h('label', { for: 'terminal-timestamps' }, 'Timestamps'),
      ),
      h('div', { class: 'inline-check' }, this.pause, h('label', { for: 'terminal-pause' }, 'Pause')),
      this.clearButton,
      this.copyButton,
      this.saveButton,
      h(
        'div',
        { class: 'terminal-find' },
        h('label', { for: 'terminal-search', class: 'visually-hidden' }, 'Find in output'),
        this.searchInput,
        this.findPrevButton,
        this.findNextButton,
        this.findStatus,
      ),
    );
    const line = h(
      'div',
      { class: 'row terminal-line' },
      h(
        'div',
        { class: 'field grow' },
        h('label', { for: 'terminal-input', class: 'visually-hidden' }, 'Line to send'),
        this.input,
      ),
      field('Ending', this.ending),
      h('div', { class: 'actions' }, this.sendButton),
    );
    const statusRow = h('div', { class: 'terminal-status-row' }, this.status, this.listenButton);
    const settings = h(
      'details',
      { class: 'group usart-settings', id: 'usart-settings' },
      h('summary', {}, 'USART1 line settings'),
      h(
        'div',
        { class: 'row' },
        field('Baud rate', this.baud),
        h('datalist', { id: 'usart-baud-rates' }, ...COMMON_BAUD_RATES.map((r) => h('option', { value: r }))),
        field('Data bits', this.dataBits),
        field('Parity', this.parity),
        field('Stop bits', this.stopBits),
        h('div', { class: 'actions' }, this.applyButton),
      ),
      h('p', { class: 'hint' }, 'Host link: ', this.linkRate),
    );
    this.element = card(
      'terminal',
      'Terminal (USART1)',
      toolbar,
      this.view.element,
      line,
      this.error.element,
      statusRow,
      settings,
    );
    this.attach(undefined);
  }

  attach(actions: TerminalActions | undefined, linkBaud?: number): void {
    this.listening?.abort(new Error('disconnected'));
    this.actions = actions;
    this.borrowed = 0;
    // A new connection listens from the start, whatever the last one was left at.
    if (actions) this.wantListening = true;
    this.linkRate.textContent = linkBaud ? `${linkBaud} Bd` : '—';
    if (actions) this.showSettings(actions.settings);
    else this.status.textContent = 'Not connected.';
    this.update();
  }

  /** Bytes USART1 received, from any reception (the terminal's own or the transfer panel's). */
  received(bytes: Uint8Array): void {
    this.view.push('rx', bytes);
    this.handlers.received?.(bytes);
  }

  /** Bytes sent on USART1 TX by the console. */
  sent(bytes: Uint8Array): void {
    this.view.push('tx', bytes);
  }

  /** A line under the output (an overrun, say), until the next change of state. */
  notice(text: string): void {
    this.status.textContent = text;
  }

  get isListening(): boolean {
    return this.listening !== undefined;
  }

  /** Starts listening (once USART1 is taken); a no-op while another reception holds the receiver. */
  async startListening(): Promise<void> {
    if (!this.actions || this.listening || this.borrowed > 0) return;
    const controller = new AbortController();
    this.listening = controller;
    this.update();
    this.status.textContent = 'Listening on USART1 RX (DMA1 channel 2, circular).';
    try {
      await this.actions.listen((bytes) => this.received(bytes), controller.signal);
    } catch (e) {
      if (!controller.signal.aborted) this.showError(e, 'Listen');
    } finally {
      if (this.listening === controller) this.listening = undefined;
      if (this.actions)
        this.status.textContent =
          this.borrowed > 0 ? 'Another reception has USART1 RX; listening again after it.' : 'Not listening.';
      this.update();
    }
  }

  stopListening(): void {
    this.listening?.abort(new Error('stopped by the user'));
  }

  /**
   * Hands the receiver to another reception: stops listening and resolves
   * once the board has confirmed it; the returned function gives it back
   * (and listening starts again if it was wanted).
   */
  async lend(): Promise<() => void> {
    this.borrowed++;
    this.stopListening();
    while (this.listening) await new Promise((r) => setTimeout(r, 10));
    let returned = false;
    return () => {
      if (returned) return;
      returned = true;
      this.borrowed = Math.max(0, this.borrowed - 1);
      if (this.wantListening) void this.startListening();
    };
  }

  private async toggleListening(): Promise<void> {
    this.wantListening = !this.listening;
    if (this.listening) this.stopListening();
    else await this.startListening();
  }

  private async copy(): Promise<void> {
    const text = this.view.selectionOrAll();
    try {
      await navigator.clipboard.writeText(text);
      this.status.textContent = `Copied ${text.length} characters.`;
    } catch {
      this.status.textContent = 'The browser did not allow copying; select the text and press Ctrl+C.';
    }
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === 'Enter') {
      e.preventDefault();
      void this.sendLine();
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      if (this.history.length === 0) return;
      e.preventDefault();
      if (this.historyIndex === this.history.length) this.draft = this.input.value;
      const step = e.key === 'ArrowUp' ? -1 : 1;
      this.historyIndex = Math.min(this.history.length, Math.max(0, this.historyIndex + step));
      this.input.value = this.history[this.historyIndex] ?? this.draft;
    }
  }

  private async sendLine(): Promise<void> {
    const actions = this.actions;
    if (!actions || this.sending) return;
    const text = this.input.value;
    const ending = ENDINGS[this.ending.value as LineEnding];
    if (text.length === 0 && ending.length === 0) return;
    const bytes = new TextEncoder().encode(text + ending);
    if (text.length > 0 && this.history.at(-1) !== text) {
      this.history.push(text);
      if (this.history.length > HISTORY_LINES) this.history.shift();
    }
    this.historyIndex = this.history.length;
    this.draft = '';
    this.error.clear();
    this.sending = true;
    this.update();
    try {
      await actions.send(bytes, new AbortController().signal);
      this.sent(bytes);
      this.input.value = '';
    } catch (e) {
      this.showError(e, 'Send line');
    } finally {
      this.sending = false;
      this.update();
    }
  }

  private async applySettings(): Promise<void> {
    const actions = this.actions;
    if (!actions) return;
    const settings: SerialSettings = {
      baudRate: this.baud.valueAsNumber,
      dataBits: Number(this.dataBits.value) as 7 | 8,
      parity: this.parity.value as SerialSettings['parity'],
      stopBits: Number(this.stopBits.value) as 1 | 2,
    };
    this.error.clear();
    const wasListening = this.isListening;
    try {
      if (wasListening) {
        this.stopListening();
        // The reception hands USART1's receiver back once the board confirms it stopped.
        while (this.listening) await new Promise((r) => setTimeout(r, 10));
      }
      await actions.configure(settings);
    } catch (e) {
      this.showError(e, 'USART1 settings');
      this.showSettings(actions.settings);
    }
    if (wasListening && this.wantListening) void this.startListening();
  }

  private showSettings(s: SerialSettings): void {
    this.baud.value = String(s.baudRate);
    this.dataBits.value = String(s.dataBits);
    this.parity.value = s.parity;
    this.stopBits.value = String(s.stopBits);
  }

  private save(): void {
    const blob = new Blob([this.handlers.sessionLog()], { type: 'text/plain' });
    const url = URL.createObjectURL(blob);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const link = h('a', { href: url, download: `dma-bridge-session-${stamp}.txt` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  private showError(error: unknown, context: string): void {
    const shown = this.handlers.describe(error, context);
    if (shown) this.error.show(shown);
  }

  private update(): void {
    const connected = this.actions !== undefined;
    this.sendButton.disabled = !connected || this.sending;
    this.input.disabled = !connected;
    this.listenButton.disabled = !connected || this.borrowed > 0;
    this.listenButton.textContent = this.listening ? 'Stop listening' : 'Listen';
    this.listenButton.setAttribute('aria-pressed', String(this.listening !== undefined));
    this.applyButton.disabled = !connected;
  }
}
