/**
 * Sending and receiving through USART1 by DMA, side by side: text, hex or
 * a file out on DMA1 channel 1 with a progress bar; N bytes, until the
 * line goes idle, or circularly in on DMA1 channel 2. USART1 is split, so
 * a send and a reception run at the same time; each has its own Stop,
 * which stops the transfer on the board, not just the waiting. Errors
 * show beside the controls that caused them.
 */

import { hexDump, parseHex, printable } from '../../../format/bytes.ts';
import type { Reception, TransferProgress } from '../app/serial-actions.ts';
import { ByteHistory } from '../util/byte-history.ts';
import { button, field, h, panel, setTextFollowingTail } from './dom.ts';
import { atMostEvery } from './frame.ts';
import { InlineError, type ShownError } from './inline-error.ts';

/** What the panel asks of the board; every call ends when its signal aborts. */
export interface TransferActions {
  write(bytes: Uint8Array, onProgress: (p: TransferProgress) => void, signal: AbortSignal): Promise<number>;
  readExact(count: number, options: { signal: AbortSignal; timeoutMs?: number }): Promise<Reception>;
  readUntilIdle(maxBytes: number, options: { signal: AbortSignal; timeoutMs?: number }): Promise<Reception>;
  /** Receives into a ring of `size` bytes, handing over bytes as they come, until aborted. */
  monitor(size: number, onData: (bytes: Uint8Array) => void, signal: AbortSignal): Promise<void>;
}

export interface TransferHandlers {
  /** Words for the user (and a log line); undefined when it needs no alert (a reset the console recovered from). */
  describe(error: unknown, context: string): ShownError | undefined;
  /** After every operation, however it ended, so other panels can catch up. */
  settled(): void;
  /** An operation starts: earlier errors no longer describe the present. */
  started(): void;
  /** Bytes a reception delivered (the terminal shows them too). */
  received(bytes: Uint8Array): void;
}

export const DEFAULT_READ_TIMEOUT_MS = 5_000;
/** Bytes drawn in the result dumps; the summary counts everything. */
const SHOWN_RESULT_BYTES = 4096;

type SendFormat = 'text' | 'hex' | 'file';

/** One side's running operation: its Stop, progress and error. */
class Lane {
  running: AbortController | undefined;
  counted: string | undefined;
  constructor(
    readonly stop: HTMLButtonElement,
    readonly text: HTMLElement,
    readonly error: InlineError,
  ) {}
}

export class TransferPanel {
  readonly element: HTMLElement;
  private actions: TransferActions | undefined;
  private readonly format = h(
    'select',
    { id: 'send-format' },
    h('option', { value: 'text' }, 'Text'),
    h('option', { value: 'hex' }, 'Hex'),
    h('option', { value: 'file' }, 'File'),
  );
  private readonly data = h('textarea', { id: 'send-data', rows: 2, spellcheck: false }, 'Hello from DMA!\n');
  private readonly file = h('input', { type: 'file', id: 'send-file' });
  private readonly fileField: HTMLElement;
  private readonly dataField: HTMLElement;
  private readonly sendButton = button('Send by DMA', { id: 'send', class: 'primary' });
  private readonly readCount = h('input', { type: 'number', id: 'read-count', min: 1, max: 4096, value: 16 });
  private readonly timeout = h('input', {
    type: 'number',
    id: 'read-timeout',
    min: 0,
    step: 100,
    value: DEFAULT_READ_TIMEOUT_MS,
  });
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
  private readonly progress = h('progress', {
    id: 'progress',
    max: 1,
    value: 0,
    'aria-labelledby': 'progress-label',
  });
  private readonly send: Lane;
  private readonly receive: Lane;
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
  /** What the monitor has received (bounded); the dumps draw its tail once a frame. */
  private readonly monitored = new ByteHistory(64 * 1024);
  private readonly drawMonitor = atMostEvery(250, () => this.showMonitored());
  private arenaBytes = 4096;

  constructor(private readonly handlers: TransferHandlers) {
    this.dataField = field(
      'Data',
      this.data,
      'Text is sent as UTF-8; hex as pairs of digits, e.g. 48 65 6C 6C 6F.',
    );
    this.fileField = field('File', this.file);
    this.fileField.hidden = true;
    this.send = new Lane(
      button('Stop sending', { id: 'stop', class: 'danger', disabled: true }),
      h('span', { id: 'progress-text', class: 'mono' }, 'idle'),
      new InlineError('send-error'),
    );
    this.receive = new Lane(
      button('Stop receiving', { id: 'rx-stop', class: 'danger', disabled: true }),
      h('span', { id: 'rx-progress-text', class: 'mono' }, 'idle'),
      new InlineError('receive-error'),
    );
    this.format.addEventListener('change', () => this.showFormat());
    this.sendButton.addEventListener('click', () => void this.sendData());
    this.readButton.addEventListener('click', () => void this.readExact());
    this.idleButton.addEventListener('click', () => void this.readUntilIdle());
    this.monitorButton.addEventListener('click', () => void this.monitor());
    // Stop reaches the driver from the click itself: nothing the console queues goes ahead of it.
    for (const lane of [this.send, this.receive]) {
      lane.stop.addEventListener('click', () => lane.running?.abort(new Error('stopped by the user')));
    }

    const sendGroup = h(
      'fieldset',
      { class: 'group send-group' },
      h('legend', {}, 'Send (memory → USART1 TX, DMA1 ch1)'),
      h(
        'div',
        { class: 'row' },
        field('Format', this.format),
        h('div', { class: 'actions' }, this.sendButton),
      ),
      this.dataField,
      this.fileField,
      h(
        'div',
        { class: 'progress-row' },
        h('span', { id: 'progress-label', class: 'visually-hidden' }, 'Send progress'),
        this.progress,
        this.send.text,
        this.send.stop,
      ),
      this.send.error.element,
    );
    const receiveGroup = h(
      'fieldset',
      { class: 'group receive-group' },
      h('legend', {}, 'Receive (USART1 RX → memory, DMA1 ch2)'),
      h(
        'div',
        { class: 'row' },
        field('Bytes', this.readCount),
        field('Timeout (ms)', this.timeout, '0 waits until Stop.'),
        h('div', { class: 'actions' }, this.readButton, this.idleButton),
      ),
      h(
        'div',
        { class: 'row' },
        field('Ring size', this.ringSize),
        h('div', { class: 'actions' }, this.monitorButton),
      ),
      h('div', { class: 'progress-row' }, this.receive.text, this.receive.stop),
      this.receive.error.element,
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
      'Send and receive by DMA',
      h('div', { class: 'transfer-grid' }, sendGroup, receiveGroup),
      result,
    );
    this.attach(undefined);
  }

  /** `arenaBytes`: the board's DMA memory, the most one buffer can hold. */
  attach(actions: TransferActions | undefined, arenaBytes?: number): void {
    this.actions = actions;
    if (arenaBytes) {
      this.arenaBytes = arenaBytes;
      this.readCount.max = String(arenaBytes);
      this.ringSize.max = String(arenaBytes - (arenaBytes % 2));
    }
    if (!actions) {
      this.send.running?.abort(new Error('disconnected'));
      this.receive.running?.abort(new Error('disconnected'));
    }
    this.updateButtons();
  }

  get errors(): readonly InlineError[] {
    return [this.send.error, this.receive.error];
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

  private async sendData(): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await this.payload();
      if (bytes.length === 0) throw new Error('there is nothing to send');
    } catch (e) {
      this.fail(this.send, e, 'Send');
      return;
    }
    await this.run(this.send, 'Send', async (actions, signal) => {
      this.setProgress(0, bytes.length);
      const sent = await actions.write(bytes, (p) => this.setProgress(p.done, p.total), signal);
      this.setProgress(sent, bytes.length);
    });
  }

  /** The byte count the user asked for, checked against the arena. */
  private count(input: HTMLInputElement, what: string, even = false): number {
    const n = input.valueAsNumber;
    if (!Number.isInteger(n) || n < (even ? 2 : 1)) {
      throw new RangeError(`the ${what} must be a whole number of at least ${even ? 2 : 1}`);
    }
    if (even && n % 2 !== 0) throw new RangeError(`the ${what} must be even: the DMA hands over halves`);
    if (n > this.arenaBytes) {
      throw new RangeError(`the ${what} can be at most ${this.arenaBytes} bytes, the board's DMA memory`);
    }
    return n;
  }

  private timeoutMs(): number {
    const ms = this.timeout.valueAsNumber;
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError('the timeout must be 0 (none) or more milliseconds');
    return ms;
  }

  private async readExact(): Promise<void> {
    let count: number;
    let timeoutMs: number;
    try {
      count = this.count(this.readCount, 'byte count');
      timeoutMs = this.timeoutMs();
    } catch (e) {
      this.fail(this.receive, e, 'Read');
      return;
    }
    await this.run(this.receive, 'Read', async (actions, signal) => {
      this.receive.text.textContent = `waiting for ${count} B…`;
      const r = await actions.readExact(count, { signal, timeoutMs });
      this.showReception(r, `Read ${count} B`, count);
    });
  }

  private async readUntilIdle(): Promise<void> {
    let max: number;
    let timeoutMs: number;
    try {
      max = this.count(this.readCount, 'byte count');
      timeoutMs = this.timeoutMs();
    } catch (e) {
      this.fail(this.receive, e, 'Read until idle');
      return;
    }
    await this.run(this.receive, 'Read until idle', async (actions, signal) => {
      this.receive.text.textContent = 'waiting for the line to go idle…';
      const r = await actions.readUntilIdle(max, { signal, timeoutMs });
      this.showReception(r, 'Read until idle');
    });
  }

  private async monitor(): Promise<void> {
    let size: number;
    try {
      size = this.count(this.ringSize, 'ring size', true);
    } catch (e) {
      this.fail(this.receive, e, 'Circular monitor');
      return;
    }
    await this.run(this.receive, 'Circular monitor', async (actions, signal) => {
      this.monitored.clear();
      this.showMonitored();
      this.receive.text.textContent = 'monitoring…';
      await actions.monitor(
        size,
        (bytes) => {
          this.monitored.push(bytes);
          this.handlers.received(bytes);
          this.drawMonitor();
        },
        signal,
      );
      this.showMonitored();
      this.receive.counted = `${this.monitored.total} B received`;
    });
  }

  /** Runs one operation on a lane with a fresh AbortController; the lane's Stop aborts it. */
  private async run(
    lane: Lane,
    context: string,
    operation: (actions: TransferActions, signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const actions = this.actions;
    if (!actions || lane.running) return;
    const controller = new AbortController();
    lane.running = controller;
    lane.counted = undefined;
    lane.error.clear();
    this.handlers.started();
    this.updateButtons();
    lane.stop.focus();
    try {
      await operation(actions, controller.signal);
      if (controller.signal.aborted) this.ended(lane, context, 'stopped');
    } catch (e) {
      if (controller.signal.aborted) this.ended(lane, context, 'stopped');
      else {
        const shown = this.handlers.describe(e, context);
        this.ended(lane, context, shown ? 'failed' : 'abandoned');
        if (shown) lane.error.show(shown);
      }
    } finally {
      lane.running = undefined;
      this.updateButtons();
      this.handlers.settled();
    }
  }

  private fail(lane: Lane, error: unknown, context: string): void {
    const shown = this.handlers.describe(error, context);
    if (shown) lane.error.show(shown);
  }

  private updateButtons(): void {
    const connected = this.actions !== undefined;
    const sendIdle = connected && !this.send.running;
    const receiveIdle = connected && !this.receive.running;
    for (const lane of [this.send, this.receive]) {
      const stopHadFocus = document.activeElement === lane.stop;
      lane.stop.disabled = lane.running === undefined;
      if (stopHadFocus && lane.stop.disabled && connected) {
        (lane === this.send ? this.sendButton : this.readButton).focus();
      }
    }
    this.sendButton.disabled = !sendIdle;
    for (const b of [this.readButton, this.idleButton, this.monitorButton]) b.disabled = !receiveIdle;
  }

  private setProgress(done: number, total: number): void {
    this.progress.max = Math.max(total, 1);
    this.progress.value = done;
    // Counts are exact, never rounded to KiB: the last bytes of a send are worth seeing.
    this.send.counted = `${done} B of ${total} B sent`;
    this.send.text.textContent = this.send.counted;
  }

  /** Says how an operation ended, keeping how far it got (the alert says why it failed). */
  private ended(lane: Lane, context: string, how: 'stopped' | 'failed' | 'abandoned'): void {
    lane.text.textContent = lane.counted ? `${context} ${how}: ${lane.counted}` : `${context} ${how}`;
  }

  private showReception(r: Reception, what: string, expected?: number): void {
    this.handlers.received(r.bytes);
    const n = r.bytes.length;
    const how = { complete: 'complete', idle: 'line idle', timeout: 'timed out', stopped: 'stopped' }[
      r.ended
    ];
    this.receive.counted = `${n} B${expected ? ` of ${expected} B` : ''} received`;
    this.receive.text.textContent = `${what}: ${how}, ${this.receive.counted}`;
    this.showResult(r.bytes, `${what}${r.ended === 'timeout' ? ' (timed out)' : ''}`, n);
  }

  private showMonitored(): void {
    this.showResult(this.monitored.tail(SHOWN_RESULT_BYTES), 'Circular monitor', this.monitored.total, true);
  }

  private showResult(bytes: Uint8Array, what: string, total: number, followTail = false): void {
    const shown = bytes.subarray(-SHOWN_RESULT_BYTES);
    const count = `${total} byte${total === 1 ? '' : 's'}`;
    this.resultSummary.textContent =
      shown.length < total ? `${what}: ${count}, the last ${shown.length} shown` : `${what}: ${count}`;
    for (const [box, text] of [
      [this.resultHex, hexDump(shown, { start: total - shown.length, text: false }).join('\n')],
      [this.resultText, printable(shown)],
    ] as const) {
      if (followTail) setTextFollowingTail(box, text);
      else {
        box.textContent = text;
        box.scrollTop = 0; // a new result is read from its start
      }
    }
  }
}
