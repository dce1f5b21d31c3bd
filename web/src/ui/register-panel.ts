/**
 * The live register panel: the bridge's DMA1 channel 1, DMAMUX and USART1
 * registers, each value split into its named bit fields as the driver's
 * chip description defines them. Reads go out as one batch, on demand,
 * after every board event, and (optionally) on a timer.
 */
import { decodeRegister } from '../../../driver/chip/decode.ts';
import type { RegisterDescription } from '../../../driver/chip/types.ts';
import { hex32 } from '../../../format/bytes.ts';
import { button, h, panel } from './dom.ts';
import { InlineError, type ShownError } from './inline-error.ts';

export type ReadRegisters = (addresses: readonly number[]) => Promise<number[]>;

/** A note beside a value, e.g. the register an address points at. */
export type Annotate = (register: RegisterDescription, value: number) => string | undefined;

export interface RegisterGroup {
  readonly title: string;
  readonly registers: readonly RegisterDescription[];
}

const LIVE_INTERVAL_MS = 500;

export class RegisterPanel {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly refreshButton = button('Refresh', { id: 'refresh-registers', disabled: true });
  private readonly live: HTMLInputElement;
  private readonly stamp = h('small', { class: 'hint', 'aria-live': 'off' });
  private readonly rows = new Map<number, { value: HTMLElement; fields: HTMLElement; last?: number }>();
  private reader: ReadRegisters | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  readonly error = new InlineError('registers-error');

  constructor(
    private readonly groups: readonly RegisterGroup[],
    private readonly describe: (error: unknown) => ShownError | undefined,
    private readonly annotate: Annotate = () => undefined,
  ) {
    this.live = h('input', { type: 'checkbox', id: 'registers-live' });
    this.body = h('div', { class: 'register-groups' }, ...groups.map((g) => this.renderGroup(g)));
    this.refreshButton.addEventListener('click', () => void this.refresh());
    this.live.addEventListener('change', () => this.updateTimer());
    this.element = panel(
      'registers',
      'Registers',
      h(
        'div',
        { class: 'toolbar' },
        this.refreshButton,
        h('div', { class: 'inline-check' }, this.live, h('label', { for: 'registers-live' }, 'Live')),
        this.stamp,
      ),
      this.error.element,
      this.body,
    );
  }

  /** Starts reading through `reader` (at once, unless `readNow` is false); `undefined` when disconnected. */
  attach(reader: ReadRegisters | undefined, readNow = true): void {
    this.reader = reader;
    this.refreshButton.disabled = !reader;
    this.updateTimer();
    if (reader && readNow) void this.refresh();
    else for (const row of this.rows.values()) row.value.textContent = '—';
  }

  /** Reads every register once; calls made during a read are folded into one more read. */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.readAll().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.reading;
  }

  private async readAll(): Promise<void> {
    const reader = this.reader;
    if (!reader) return;
    const registers = this.groups.flatMap((g) => g.registers);
    try {
      const values = await reader(registers.map((r) => r.address));
      registers.forEach((r, i) => {
        const value = values[i];
        if (value !== undefined) this.show(r, value);
      });
      this.stamp.textContent = `read at ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      if (this.reader !== reader) return;
      const shown = this.describe(e);
      if (shown) this.error.show(shown);
    }
  }

  /**
   * Live: a read every 500 ms, or less often when reads are slow (the link
   * busy with a transfer): the next one waits three times as long as the
   * last took, so live reads take at most a quarter of the link and a
   * transfer's frames are never held up behind a queue of them.
   */
  private updateTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.reader || !this.live.checked) return;
    const reader = this.reader;
    const tick = async () => {
      const started = performance.now();
      await this.refresh();
      if (this.reader !== reader || !this.live.checked) return;
      const took = performance.now() - started;
      this.timer = setTimeout(() => void tick(), Math.max(LIVE_INTERVAL_MS - took, 3 * took));
    };
    this.timer = setTimeout(() => void tick(), LIVE_INTERVAL_MS);
  }

  private renderGroup(group: RegisterGroup): HTMLElement {
    return h(
      'div',
      { class: 'register-group' },
      h('h3', {}, group.title),
      h(
        'table',
        { class: 'registers' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Register'),
            h('th', { scope: 'col' }, 'Value'),
            h('th', { scope: 'col' }, 'Fields'),
          ),
        ),
        h('tbody', {}, ...group.registers.map((r) => this.renderRow(r))),
      ),
    );
  }

  private renderRow(register: RegisterDescription): HTMLElement {
    const value = h('td', { class: 'mono value' }, '—');
    const fields = h('td', { class: 'fields' });
    this.rows.set(register.address, { value, fields });
    this.renderFields(register, 0, fields, false);
    return h(
      'tr',
      { 'data-register': register.name },
      h(
        'th',
        { scope: 'row', title: register.description },
        h('span', { class: 'reg-name' }, register.name),
        h('small', { class: 'mono address' }, hex32(register.address)),
      ),
      value,
      fields,
    );
  }

  private show(register: RegisterDescription, value: number): void {
    const row = this.rows.get(register.address);
    if (!row) return;
    const changed = row.last !== undefined && row.last !== value;
    row.last = value;
    row.value.textContent = hex32(value);
    row.value.classList.toggle('changed', changed);
    this.renderFields(register, value, row.fields, true);
  }

  private renderFields(
    register: RegisterDescription,
    value: number,
    cell: HTMLElement,
    known: boolean,
  ): void {
    const widths = new Map(register.fields.map((f) => [f.name, f.width]));
    const note = known ? this.annotate(register, value) : undefined;
    cell.replaceChildren(
      ...decodeRegister(register, value).map((f) => {
        // Addresses read best in hex; counts, dividers and request ids as the manual gives them, in decimal.
        const shown = (widths.get(f.name) ?? 1) >= 32 ? hex32(f.value) : String(f.value);
        return h(
          'span',
          {
            class: `bitfield${known && f.value !== 0 ? ' set' : ''}`,
            title: f.meaning ? `${f.description}: ${f.meaning}` : f.description,
          },
          f.name,
          known ? h('b', {}, `=${shown}`) : null,
        );
      }),
      ...(note ? [h('span', { class: 'annotation' }, note)] : []),
    );
  }
}
