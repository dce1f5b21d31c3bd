/**
 * The console's controller: connects and disconnects (and reconnects to a
 * board plugged back in), hands the session to the panels, routes board
 * events to the log, the timeline and the registers, and puts each error
 * beside what caused it. Panels never see transports or the link directly.
 */
import { type RegisterDescription, registerAt, STM32G071 } from '../../../driver/chip/index.ts';
import { ArenaExhaustedError, type BoardNotification, DeviceResetError } from '../../../driver/index.ts';
import { ConnectPanel, type TransportSupport } from '../ui/connect-panel.ts';
import { EventLog } from '../ui/event-log.ts';
import { HelloPanel } from '../ui/hello-panel.ts';
import type { InlineError, ShownError } from '../ui/inline-error.ts';
import { OnboardingPanel } from '../ui/onboarding-panel.ts';
import { PeerPanel } from '../ui/peer-panel.ts';
import { PlotterPanel } from '../ui/plotter-panel.ts';
import { type RegisterGroup, RegisterPanel } from '../ui/register-panel.ts';
import { StatusBar } from '../ui/status-bar.ts';
import { TerminalPanel } from '../ui/terminal-panel.ts';
import { Timeline } from '../ui/timeline.ts';
import { TransferPanel } from '../ui/transfer-panel.ts';
import { describeError, operationName } from './describe-error.ts';
import { describeNotification } from './describe-event.ts';
import { planListenRing } from './listen-ring.ts';
import {
  type OpenedTransport,
  type OpenOptions,
  openTransport,
  TRANSPORT_LABELS,
  type TransportKind,
} from './open-transport.ts';
import {
  type ReadOptions,
  ReceptionOverrunError,
  SerialTransferActions,
  sessionGone,
} from './serial-actions.ts';
import { describeSerialPort, grantedBoardPorts, onBoardPlugged } from './serial-ports.ts';
import { ConsoleSession } from './session.ts';

const [channel1, channel2] = STM32G071.dma.channels as [
  (typeof STM32G071.dma.channels)[0],
  (typeof STM32G071.dma.channels)[0],
];
const usart1 = STM32G071.usart1;

/** What the register panel shows: both channels the bridge drives, their DMAMUX lines and USART1. */
export const REGISTER_GROUPS: readonly RegisterGroup[] = [
  { title: 'DMA1 channel 1 (TX)', registers: [channel1.ccr, channel1.cndtr, channel1.cpar, channel1.cmar] },
  { title: 'DMA1 channel 2 (RX)', registers: [channel2.ccr, channel2.cndtr, channel2.cpar, channel2.cmar] },
  { title: 'DMAMUX1', registers: [channel1.mux, channel2.mux] },
  { title: 'USART1', registers: [usart1.cr1, usart1.cr2, usart1.cr3, usart1.brr, usart1.isr] },
];

export class ConsoleApp {
  readonly status = new StatusBar();
  readonly log = new EventLog();
  readonly hello = new HelloPanel();
  readonly registers: RegisterPanel;
  readonly transfer: TransferPanel;
  readonly peer: PeerPanel;
  readonly connect: ConnectPanel;
  readonly terminal: TerminalPanel;
  readonly timeline: Timeline;
  readonly plotter: PlotterPanel;
  readonly onboarding = new OnboardingPanel();
  private session: ConsoleSession | undefined;
  private actions: SerialTransferActions | undefined;
  private unsubscribe: (() => void) | undefined;
  private disconnecting = false;
  private opening = false;
  /** A WebSerial board that was unplugged: reconnect when it comes back. */
  private awaitingReplug: { vendor?: number; product?: number } | undefined;
  private grantedPort: SerialPort | undefined;
  /** A reset being recovered from: what it interrupted, said in its one log line. */
  private resetNote: { pressed: boolean; abandoned: Set<string> } | undefined;

  constructor(support: readonly TransportSupport[]) {
    const clock = () => this.log.now();
    this.timeline = new Timeline(clock);
    this.plotter = new PlotterPanel(clock);
    this.registers = new RegisterPanel(
      REGISTER_GROUPS,
      (e) => this.describe(e, 'Registers'),
      (register, value) => this.annotate(register, value),
    );
    this.transfer = new TransferPanel({
      describe: (e, context) => this.describe(e, context),
      settled: () => void this.registers.refresh(),
      started: () => this.clearErrors(),
      received: (bytes) => this.terminal.received(bytes),
    });
    this.peer = new PeerPanel(
      (e, context) => this.describe(e, context),
      (message) => this.log.add('peer', message),
    );
    this.connect = new ConnectPanel(support, {
      connect: (kind, choosePort) => void this.open(kind, choosePort ? {} : { port: this.grantedPort }),
      disconnect: () => void this.close('disconnected'),
      resetBoard: () => this.resetBoard(),
    });
    this.terminal = new TerminalPanel(clock, {
      describe: (e, context) => this.describe(e, context),
      received: (bytes) => this.plotter.push(bytes),
      sessionLog: () =>
        `DMA bridge console session, saved ${new Date().toISOString()}\n\n== Terminal (USART1)\n` +
        `${this.terminal.view.transcriptText()}\n\n== Event log\n${this.log.text()}\n`,
    });
    // Help links ("how to flash the bridge firmware") open the steps wherever they appear.
    document.addEventListener('click', (e) => {
      const link = (e.target as Element | null)?.closest?.('a.help-link');
      if (link?.getAttribute('href') === `#${this.onboarding.element.id}`) {
        e.preventDefault();
        this.onboarding.reveal();
      }
    });
    onBoardPlugged((port) => void this.plugged(port));
    void this.findGrantedPort();
  }

  /** The page's colours changed (theme or system setting): views drawn in code follow. */
  restyle(_theme?: string): void {
    this.terminal.view.restyle();
    this.timeline.redraw();
  }

  async open(kind: TransportKind, options: OpenOptions = {}): Promise<void> {
    if (this.session || this.opening) return;
    this.opening = true;
    this.awaitingReplug = undefined;
    this.clearErrors();
    this.status.set('connecting', TRANSPORT_LABELS[kind]);
    this.connect.setState('busy');
    let opened: OpenedTransport | undefined;
    try {
      opened = await openTransport(
        kind,
        {
          onGone: (reason) => void this.lost(reason),
          onLineError: (message) => this.log.add('link', `line error: ${message}`),
        },
        kind === 'webserial' ? options : {},
      );
      this.log.restartClock();
      this.timeline.clear();
      this.log.add('info', `opened ${opened.transport.info?.description ?? TRANSPORT_LABELS[kind]}`);
      const session = await ConsoleSession.open(opened);
      this.opening = false;
      await this.attach(session);
    } catch (e) {
      this.opening = false;
      // Link.open closes the transport when HELLO fails; this covers a failure before it.
      await opened?.transport.close().catch(() => {});
      this.status.set('disconnected');
      this.connect.setState('idle');
      this.report(e, 'Connect', this.connect.error);
    }
  }

  async close(reason: string): Promise<void> {
    const session = this.session;
    if (!session || this.disconnecting) return;
    this.disconnecting = true;
    this.detach();
    try {
      await session.close();
    } catch (e) {
      this.report(e, 'Disconnect', this.connect.error);
    } finally {
      this.disconnecting = false;
    }
    this.log.add('info', reason);
    this.status.set('disconnected');
    this.connect.setState('idle');
  }

  private async attach(session: ConsoleSession): Promise<void> {
    this.session = session;
    const { opened } = session;
    this.hello.show(session.hello, opened.transport.info?.description);
    this.unsubscribe = session.subscribe((n) => this.notified(n));
    const v = session.hello.firmwareVersion;
    this.log.add('link', `session open, HELLO from firmware v${v.major}.${v.minor}.${v.patch}`);
    this.status.set(
      'connected',
      `${TRANSPORT_LABELS[opened.kind]} · ${opened.transport.info?.description ?? ''}`,
    );
    this.connect.setState('connected', opened.kind);
    this.timeline.start();
    this.peer.attach(opened.kind === 'virtual' ? opened.transport.peer : undefined);
    if (opened.kind === 'webserial') {
      this.grantedPort = opened.port;
      this.connect.setGrantedPort(describeSerialPort(opened.port));
    }
    // Registers are read once USART1 is configured, so they show what the console set.
    this.registers.attach((addresses) => session.readRegisters(addresses), false);
    await this.takeSerial(session);
    if (this.session === session) void this.registers.refresh();
  }

  private detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.session = undefined;
    this.actions = undefined;
    this.registers.attach(undefined);
    this.transfer.attach(undefined);
    this.terminal.attach(undefined);
    this.peer.attach(undefined);
    this.hello.clear();
    this.timeline.stop();
  }

  private notified(n: BoardNotification): void {
    const line = describeNotification(n);
    if (n.kind !== 'reset') this.log.add(line.kind, line.message, line.detail);
    if (n.kind === 'dma') {
      if (n.ht) this.timeline.mark('HT', n.channel);
      if (n.tc) this.timeline.mark('TC', n.channel);
      if (n.te) this.timeline.mark('TE', n.channel);
    } else if (n.kind === 'usart') {
      if (n.idle) this.timeline.mark('IDLE');
      if (n.tc) this.timeline.mark('USART TC');
      if (n.pe || n.fe || n.ne || n.ore) this.timeline.mark('USART error');
    }
    // While a transfer runs, a register read would queue on the link ahead of
    // its Stop; the panel reads again when the operation ends.
    if ((n.kind === 'dma' || n.kind === 'usart') && (this.actions?.idle ?? true))
      void this.registers.refresh();
    if (n.kind === 'reset') void this.recoverFromReset();
    if (n.kind === 'closed' && !this.disconnecting) void this.lost(n.error.message);
  }

  private async lost(reason: string): Promise<void> {
    const session = this.session;
    if (!session || this.disconnecting) return;
    const unplugged = session.opened.kind === 'webserial' && reason === 'the board was unplugged';
    await this.close(reason);
    this.status.set('lost', reason);
    if (unplugged) {
      const info = (session.opened as { port: SerialPort }).port.getInfo();
      this.awaitingReplug = { vendor: info.usbVendorId, product: info.usbProductId };
      this.log.add('info', 'The board was unplugged; the console reconnects when it is plugged back in.');
    }
  }

  /** A board came (back): reconnect if it is the one that was unplugged. */
  private async plugged(port: SerialPort): Promise<void> {
    this.grantedPort = port;
    this.connect.setGrantedPort(describeSerialPort(port));
    const wanted = this.awaitingReplug;
    const info = port.getInfo();
    if (!wanted || this.session || wanted.vendor !== info.usbVendorId || wanted.product !== info.usbProductId)
      return;
    this.log.add('info', 'The board is plugged in again; reconnecting.');
    await this.open('webserial', { port });
  }

  private async findGrantedPort(): Promise<void> {
    const [port] = await grantedBoardPorts();
    if (!port || this.session) return;
    this.grantedPort = port;
    this.connect.setGrantedPort(describeSerialPort(port));
  }

  private resetBoard(): void {
    const opened = this.session?.opened;
    if (opened?.kind !== 'virtual') return;
    this.resetNote = { pressed: true, abandoned: new Set() };
    opened.transport.reset();
  }

  /** Takes USART1 for the transfer panel and the terminal; they stay disabled if that fails. */
  private async takeSerial(session: ConsoleSession): Promise<void> {
    const settings = this.actions?.settings;
    this.actions = undefined;
    this.transfer.attach(undefined);
    this.terminal.attach(undefined);
    try {
      const actions = await SerialTransferActions.take(
        session.board,
        (kind, message) => this.log.add(kind, message),
        settings,
        (direction, bytes) => this.timeline.bytes(direction, bytes),
      );
      if (this.session !== session) return;
      this.actions = actions;
      // A reception the transfer panel starts borrows the receiver from the terminal.
      const borrowing =
        <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
        async (...args: A): Promise<R> => {
          const giveBack = await this.terminal.lend();
          try {
            return await run(...args);
          } finally {
            giveBack();
          }
        };
      this.transfer.attach(
        {
          write: (bytes, onProgress, signal) => actions.write(bytes, onProgress, signal),
          readExact: borrowing((count: number, o: ReadOptions) => actions.readExact(count, o)),
          readUntilIdle: borrowing((max: number, o: ReadOptions) => actions.readUntilIdle(max, o)),
          monitor: borrowing((size: number, onData: (b: Uint8Array) => void, signal: AbortSignal) =>
            actions.monitor(size, onData, signal),
          ),
        },
        session.hello.arenaSize,
      );
      this.terminal.attach(
        {
          send: async (bytes, signal) => {
            await actions.write(bytes, () => {}, signal);
          },
          listen: (onData, signal) => this.listen(session, actions, onData, signal),
          configure: async (s) => {
            await actions.configure(s);
            void this.registers.refresh();
          },
          get settings() {
            return actions.settings;
          },
        },
        session.hello.linkBaud,
      );
      // Always listening: nothing USART1 receives from here on is missed.
      void this.terminal.startListening();
    } catch (e) {
      if (this.session === session) this.report(e, 'USART1', this.connect.error);
    }
  }

  /**
   * The terminal's reception: a circular DMA into a ring sized from the
   * arena and the rates; after an overrun it says how many bytes were lost
   * and listens again at once.
   */
  private async listen(
    session: ConsoleSession,
    actions: SerialTransferActions,
    onData: (bytes: Uint8Array) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const { hello } = session;
    let ring = planListenRing(hello.arenaSize, actions.settings.baudRate, hello.linkBaud).bytes;
    while (!signal.aborted && this.session === session) {
      try {
        await actions.monitor(ring, onData, signal);
        return;
      } catch (e) {
        if (e instanceof ReceptionOverrunError) {
          this.log.add('error', `USART1 reception overran: at least ${e.lost} bytes lost; listening again`);
          this.terminal.notice(`At least ${e.lost} bytes were lost to an overrun; listening again.`);
          continue;
        }
        // Part of the arena is in use (a buffer the board has not confirmed free): a smaller ring.
        if (e instanceof ArenaExhaustedError && ring > 256) {
          ring = Math.max(256, Math.floor(ring / 4) * 2);
          continue;
        }
        throw e;
      }
    }
  }

  /** After a reset the session is gone: open a new one, show the new HELLO, take USART1 again. */
  private async recoverFromReset(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.resetNote ??= { pressed: false, abandoned: new Set() };
    try {
      const hello = await session.reopen();
      if (this.session !== session) return;
      this.hello.show(hello, session.opened.transport.info?.description);
      await this.takeSerial(session);
      // One line per reset, however many operations it ended.
      const note = this.resetNote;
      this.resetNote = undefined;
      const abandoned = [...(note?.abandoned ?? [])];
      this.log.add(
        'info',
        `The board reset${note?.pressed ? ' (reset button)' : ''}; the console reconnected: a new session, USART1 taken again` +
          (abandoned.length > 0 ? `; the ${abandoned.join(' and the ')} was abandoned.` : '.'),
      );
      void this.registers.refresh();
    } catch (e) {
      this.resetNote = undefined;
      this.report(e, 'Reconnect', this.connect.error);
    }
  }

  /** Names what an address register points at: a register of the chip, or a place in the arena. */
  private annotate(register: RegisterDescription, value: number): string | undefined {
    if (register.fields.length !== 1 || register.fields[0]!.width < 32) return undefined;
    const target = registerAt(STM32G071, value);
    if (target) return `→ ${target.name}`;
    const hello = this.session?.hello;
    if (hello && value >= hello.arenaBase && value < hello.arenaBase + hello.arenaSize) {
      return `→ arena + ${value - hello.arenaBase}`;
    }
    return undefined;
  }

  /** Every place an error can show; one shows at a time. */
  private get errorSlots(): InlineError[] {
    return [
      this.connect.error,
      ...this.transfer.errors,
      this.terminal.error,
      this.peer.error,
      this.registers.error,
    ];
  }

  private clearErrors(): void {
    for (const slot of this.errorSlots) slot.clear();
  }

  /**
   * An error in a console user's words, logged; undefined when it is no
   * error to show (a reset the console recovers from, a chooser closed).
   */
  private describe(error: unknown, context: string): ShownError | undefined {
    const described = describeError(error, context);
    // The board reset or the link went away under an operation: the console already says so and recovers.
    // A reset's line is written once the console has recovered from it; it names what was abandoned.
    if (error instanceof DeviceResetError && this.session && context !== 'Connect') {
      if (context !== 'Listen') {
        this.resetNote ??= { pressed: false, abandoned: new Set() };
        this.resetNote.abandoned.add(operationName(context));
      }
      return undefined;
    }
    if (described.kind === 'info' || (sessionGone(error) && context !== 'Connect')) {
      this.log.add(
        'info',
        described.kind === 'info' ? described.message : `${context}: ${described.shown.text}`,
      );
      return undefined;
    }
    this.clearErrors();
    const { shown } = described;
    this.log.add('error', `${context}: ${shown.text}${shown.technical ? ` (${shown.technical})` : ''}`);
    return shown;
  }

  /** Shows an error in `slot` (the connection panel's by default) and logs it. */
  report(error: unknown, context: string, slot: InlineError = this.connect.error): void {
    const shown = this.describe(error, context);
    if (shown) slot.show(shown);
  }
}
