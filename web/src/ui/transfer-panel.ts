/**
 * Sending and receiving through DMA1 channel 1 and USART1: text, hex or a
 * file out with a progress bar; N bytes, or until the line goes idle, in;
 * a circular monitor. One operation runs at a time and the Stop button
 * ends it (the transfer is stopped on the board, not just forgotten).
 */
import { button, field, h, panel, setTextFollowingTail } from './dom.ts';
import { formatBytesCount, hexDump, parseHex, printable } from './format.ts';

export interface TransferProgress {
  readonly done: number;
  readonly total: number;
}

/** What the panel asks of the board; every call ends when its signal aborts. */
export interface TransferActions {
  write(bytes: Uint8Array, onProgress: (p: TransferProgress) => void, signal: AbortSignal): Promise<number>;
  readExact(count: number, signal: AbortSignal): Promise<Uint8Array>;
  readUntilIdle(maxBytes: number, signal: AbortSignal): Promise<Uint8Array>;
  /** Receives into a ring of `size` bytes, handing over each half as it fills, until aborted. */
  monitor(size: number, onData: (bytes: Uint8Array) => void, signal: AbortSignal): Promise<void>;
}

type SendFormat = 'text' | 'hex' | 'file';

export class TransferPanel {
  readonly element: HTMLElement;
  private actions: TransferActions | undefined;
  private running: AbortController | undefined;
  private readonly format = h(
    'select',
    { id: 'send-format' },
    h('option', { value: 'text' }, 'Text'),
    h('option', { value: 'hex' }, 'Hex'),
    h('option', { value: 'file' }, 'File'),
  );
  private readonly data = h('textarea', { id: 'send-data', rows: 3, spellcheck: false }, 'Hello from DMA!\n');
  private readonly file = h('input', { type: 'file', id: 'send-file' });
  private readonly fileField: HTMLElement;
  private readonly dataField: HTMLElement;
  private readonly sendButton = button('Send by DMA', { id: 'send', class: 'primary' });
  private readonly readCount = h('input', { type: 'number', id: 'read-count', min: 1, max: 4096, value: 16 });
  private readonly readButton = button('Read N bytes', { id: 'read-exact' });
  private readonly idleButton = button('Read until idle', { id: 'read-idle' });
  private readonly ringSize = h('input', {
    type: 'number',
    id: 'ring-size',
    min: 2,
    max: 4096,
    step: 2,
    value: 64,
  });
  private readonly monitorButton = button('Start circular monitor', { id: 'monitor' });
  private readonly stopButton = button('Stop', { id: 'stop', class: 'danger', disabled: true });
  private readonly progress = h('progress', {
    id: 'progress',
    max: 1,
    value: 0,
    'aria-labelledby': 'progress-label',
  });
  private readonly progressText = h('span', { id: 'progress-text', class: 'mono' }, 'idle');
  private readonly resultSummary = h(
    'p',
    { id: 'result-summary', 'aria-live': 'polite' },
    'Nothing received yet.',
  );
  private readonly resultHex = h('pre', {
    id: 'result-hex',
    class: 'dump',
    tabindex: 0,
    'aria-label': 'Result in hex',
  });
  private readonly resultText = h('pre', {
    id: 'result-text',
    class: 'dump text',
    tabindex: 0,
    'aria-label': 'Result as text',
  });
  private received: Uint8Array = new Uint8Array(0);
  /** What the progress text last counted in this operation, to repeat when it stops or fails. */
  private counted: string | undefined;
  private readonly operationButtons: HTMLButtonElement[];

  constructor(
    private readonly onError: (error: unknown, context: string) => void,
    /** Called after every operation, however it ended, so other panels can catch up. */
    private readonly onSettled: () => void = () => {},
    /** Called when an operation starts: an earlier error no longer describes the present. */
    private readonly onStart: () => void = () => {},
  ) {
    this.dataField = field(
      'Data',
      this.data,
      'Text is sent as UTF-8; hex as pairs of digits, e.g. 48 65 6C 6C 6F.',
    );
    this.fileField = field('File', this.file);
    this.fileField.hidden = true;
    this.format.addEventListener('change', () => this.showFormat());
    this.sendButton.addEventListener('click', () => void this.send());
    this.readButton.addEventListener('click', () => void this.readExact());
    this.idleButton.addEventListener('click', () => void this.readUntilIdle());
    this.monitorButton.addEventListener('click', () => void this.monitor());
    this.stopButton.addEventListener('click', () => this.running?.abort(new Error('stopped by the user')));
    this.operationButtons = [this.sendButton, this.readButton, this.idleButton, this.monitorButton];

    const send = h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'Send by DMA (memory → USART1 TX)'),
      h('div', { class: 'row' }, field('Format', this.format)),
      this.dataField,
      this.fileField,
      h('div', { class: 'actions' }, this.sendButton),
    );
    const receive = h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'Receive by DMA (USART1 RX → memory)'),
      h(
        'div',
        { class: 'row' },
        field('Bytes', this.readCount),
        h('div', { class: 'actions' }, this.readButton, this.idleButton),
      ),
      h(
        'div',
        { class: 'row' },
        field('Ring size', this.ringSize),
        h('div', { class: 'actions' }, this.monitorButton),
      ),
    );
    const progress = h(
      'div',
      { class: 'progress-row' },
      h('span', { id: 'progress-label', class: 'visually-hidden' }, 'Transfer progress'),
      this.progress,
      this.progressText,
      this.stopButton,
    );
    const result = h(
      'div',
      { class: 'result' },
      h('h3', {}, 'Received'),
      this.resultSummary,
      h('div', { class: 'dumps' }, this.resultHex, this.resultText),
    );
    this.element = panel(
      'transfer',
      'Transfer',
      h('div', { class: 'transfer-grid' }, send, receive),
      progress,
      result,
    );
    this.attach(undefined);
  }

  attach(actions: TransferActions | undefined): void {
    this.actions = actions;
    if (!actions) this.running?.abort(new Error('disconnected'));
    this.updateButtons();
  }

  private showFormat(): void {
    const format = this.format.value as SendFormat;
    this.fileField.hidden = format !== 'file';
    this.dataField.hidden = format === 'file';
  }

  private async payload(): Promise<Uint8Array> {
    const format = this.format.value as SendFormat;
    if (format === 'text') return new TextEncoder().encode(this.data.value);
    if (format === 'hex') return parseHex(this.data.value);
    const file = this.file.files?.[0];
    if (!file) throw new Error('choose a file to send first');
    return new Uint8Array(await file.arrayBuffer());
  }

  private async send(): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await this.payload();
    } catch (e) {
      this.onError(e, 'Send');
      return;
    }
    if (bytes.length === 0) {
      this.onError(new Error('there is nothing to send'), 'Send');
      return;
    }
    await this.run('Send', async (actions, signal) => {
      this.setProgress(0, bytes.length, 'sent');
      const sent = await actions.write(bytes, (p) => this.setProgress(p.done, p.total, 'sent'), signal);
      this.setProgress(sent, bytes.length, 'sent');
    });
  }

  private async readExact(): Promise<void> {
    const count = this.readCount.valueAsNumber;
    if (!Number.isInteger(count) || count < 1) {
      this.onError(new RangeError('the byte count must be a whole number of at least 1'), 'Read');
      return;
    }
    await this.run('Read', async (actions, signal) => {
      this.setProgress(0, count, 'received');
      this.showResult(await actions.readExact(count, signal), `Read ${formatBytesCount(count)}`);
      this.setProgress(count, count, 'received');
    });
  }

  private async readUntilIdle(): Promise<void> {
    const max = this.readCount.valueAsNumber;
    await this.run('Read until idle', async (actions, signal) => {
      this.progressText.textContent = 'waiting for the line to go idle…';
      const bytes = await actions.readUntilIdle(Number.isInteger(max) && max > 0 ? max : 256, signal);
      this.showResult(bytes, 'Read until idle');
      this.setProgress(bytes.length, Math.max(bytes.length, 1), 'received');
    });
  }

  private async monitor(): Promise<void> {
    const size = this.ringSize.valueAsNumber;
    await this.run('Circular monitor', async (actions, signal) => {
      this.received = new Uint8Array(0);
      this.showResult(this.received, 'Circular monitor');
      this.progressText.textContent = 'monitoring…';
      this.progress.removeAttribute('value'); // indeterminate while it runs
      await actions.monitor(
        size,
        (bytes) => {
          // The result grows half by half: keep its newest bytes in view.
          this.showResult(concat(this.received, bytes), 'Circular monitor', true);
        },
        signal,
      );
    });
  }

  /** Runs one operation with a fresh AbortController; the Stop button aborts it. */
  private async run(
    context: string,
    operation: (actions: TransferActions, signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const actions = this.actions;
    if (!actions || this.running) return;
    const controller = new AbortController();
    this.running = controller;
    this.counted = undefined;
    this.onStart();
    this.updateButtons();
    this.stopButton.focus();
    try {
      await operation(actions, controller.signal);
      // A monitor ends only by Stop, and without an error: its "monitoring…" must not outlive it.
      if (controller.signal.aborted) this.ended(context, 'stopped');
    } catch (e) {
      if (controller.signal.aborted) this.ended(context, 'stopped');
      else {
        this.ended(context, 'failed');
        this.onError(e, context);
      }
    } finally {
      this.running = undefined;
      if (!this.progress.hasAttribute('value')) this.progress.value = 0;
      this.updateButtons();
      this.onSettled();
    }
  }

  private updateButtons(): void {
    const idle = this.actions !== undefined && this.running === undefined;
    const stopHadFocus = document.activeElement === this.stopButton;
    for (const b of this.operationButtons) b.disabled = !idle;
    this.stopButton.disabled = this.running === undefined;
    if (stopHadFocus && this.stopButton.disabled && idle) this.sendButton.focus();
  }

  private setProgress(done: number, total: number, verb: string): void {
    this.progress.max = Math.max(total, 1);
    this.progress.value = done;
    this.counted = `${formatBytesCount(done)} of ${formatBytesCount(total)} ${verb}`;
    this.progressText.textContent = this.counted;
  }

  /** Says how an operation ended, keeping how far it got (the alert says why it failed). */
  private ended(context: string, how: 'stopped' | 'failed'): void {
    this.progressText.textContent = this.counted ? `${context} ${how}: ${this.counted}` : `${context} ${how}`;
  }

  private showResult(bytes: Uint8Array, what: string, followTail = false): void {
    this.received = bytes;
    this.resultSummary.textContent = `${what}: ${bytes.length} byte${bytes.length === 1 ? '' : 's'}`;
    for (const [box, text] of [
      [this.resultHex, hexDump(bytes)],
      [this.resultText, printable(bytes)],
    ] as const) {
      if (followTail) setTextFollowingTail(box, text);
      else {
        box.textContent = text;
        box.scrollTop = 0; // a new result is read from its start
      }
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
