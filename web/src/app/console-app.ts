/**
 * The console's controller: connects and disconnects, hands the session to
 * the panels, and routes board events and errors to the log and the
 * status bar. Panels never see transports or the link directly.
 */
import { type RegisterDescription, registerAt, STM32G071 } from '../../../driver/chip/index.ts';
import { ConnectPanel, type TransportSupport } from '../ui/connect-panel.ts';
import { EventLog } from '../ui/event-log.ts';
import { errorMessage, errorName } from '../ui/format.ts';
import { HelloPanel } from '../ui/hello-panel.ts';
import { PeerPanel } from '../ui/peer-panel.ts';
import { type RegisterGroup, RegisterPanel } from '../ui/register-panel.ts';
import { StatusBar } from '../ui/status-bar.ts';
import { TransferPanel } from '../ui/transfer-panel.ts';
import { describeNotification } from './describe-event.ts';
import {
  type OpenedTransport,
  openTransport,
  TRANSPORT_LABELS,
  type TransportKind,
} from './open-transport.ts';
import { SerialTransferActions } from './serial-actions.ts';
import { ConsoleSession } from './session.ts';

const channel1 = STM32G071.dma.channels[0]!;
const usart1 = STM32G071.usart1;

/** What the register panel shows: the channel the bridge drives, its DMAMUX line and USART1. */
export const REGISTER_GROUPS: readonly RegisterGroup[] = [
  { title: 'DMA1 channel 1', registers: [channel1.ccr, channel1.cndtr, channel1.cpar, channel1.cmar] },
  { title: 'DMAMUX1', registers: [channel1.mux] },
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
  private session: ConsoleSession | undefined;
  private unsubscribe: (() => void) | undefined;
  private disconnecting = false;

  constructor(support: readonly TransportSupport[]) {
    this.registers = new RegisterPanel(
      REGISTER_GROUPS,
      (e) => this.report(e, 'Registers'),
      (register, value) => this.annotate(register, value),
    );
    this.transfer = new TransferPanel(
      (e, context) => this.report(e, context),
      () => void this.registers.refresh(),
      () => this.status.clearError(),
    );
    this.peer = new PeerPanel(
      (e, context) => this.report(e, context),
      (message) => this.log.add('peer', message),
    );
    this.connect = new ConnectPanel(support, {
      connect: (kind) => void this.open(kind),
      disconnect: () => void this.close('disconnected'),
      resetBoard: () => this.resetBoard(),
    });
  }

  async open(kind: TransportKind): Promise<void> {
    if (this.session) return;
    this.status.clearError();
    this.status.set('connecting', TRANSPORT_LABELS[kind]);
    this.connect.setState('busy');
    let opened: OpenedTransport | undefined;
    try {
      opened = await openTransport(kind, {
        onGone: (reason) => void this.lost(reason),
        onLineError: (message) => this.log.add('link', `line error: ${message}`),
      });
      this.log.restartClock();
      this.log.add('info', `opened ${opened.transport.info?.description ?? TRANSPORT_LABELS[kind]}`);
      const session = await ConsoleSession.open(opened);
      this.attach(session);
    } catch (e) {
      // Link.open closes the transport when HELLO fails; this covers a failure before it.
      await opened?.transport.close().catch(() => {});
      this.status.set('disconnected');
      this.connect.setState('idle');
      this.report(e, 'Connect');
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
      this.report(e, 'Disconnect');
    } finally {
      this.disconnecting = false;
    }
    this.log.add('info', reason);
    this.status.set('disconnected');
    this.connect.setState('idle');
  }

  private attach(session: ConsoleSession): void {
    this.session = session;
    const { opened } = session;
    this.hello.show(session.hello, opened.transport.info?.description);
    this.unsubscribe = session.subscribe((n) => {
      const line = describeNotification(n);
      this.log.add(line.kind, line.message, line.detail);
      if (n.kind !== 'reset' && n.kind !== 'closed') void this.registers.refresh();
      if (n.kind === 'reset') void this.recoverFromReset();
      if (n.kind === 'closed' && !this.disconnecting) void this.lost(n.error.message);
    });
    const v = session.hello.firmwareVersion;
    this.log.add('link', `session open, HELLO from firmware v${v.major}.${v.minor}.${v.patch}`);
    this.status.set(
      'connected',
      `${TRANSPORT_LABELS[opened.kind]} · ${opened.transport.info?.description ?? ''}`,
    );
    this.connect.setState('connected', opened.kind);
    this.registers.attach((addresses) => session.readRegisters(addresses));
    void this.takeSerial(session);
    this.peer.attach(opened.kind === 'virtual' ? opened.transport.peer : undefined);
  }

  private detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.session = undefined;
    this.registers.attach(undefined);
    this.transfer.attach(undefined);
    this.peer.attach(undefined);
    this.hello.clear();
  }

  private async lost(reason: string): Promise<void> {
    if (!this.session || this.disconnecting) return;
    await this.close(reason);
    this.status.set('lost', reason);
  }

  private resetBoard(): void {
    const opened = this.session?.opened;
    if (opened?.kind !== 'virtual') return;
    this.log.add('info', 'reset button pressed');
    opened.transport.reset();
  }

  /** Takes Serial1 for the transfer panel; the panel stays disabled if that fails. */
  private async takeSerial(session: ConsoleSession): Promise<void> {
    this.transfer.attach(undefined);
    try {
      const actions = await SerialTransferActions.take(session.board, (kind, message) =>
        this.log.add(kind, message),
      );
      if (this.session === session) this.transfer.attach(actions);
    } catch (e) {
      if (this.session === session) this.report(e, 'USART1');
    }
  }

  /** After a reset the session is gone: open a new one and show the new HELLO. */
  private async recoverFromReset(): Promise<void> {
    const session = this.session;
    if (!session) return;
    try {
      const hello = await session.reopen();
      if (this.session !== session) return;
      this.hello.show(hello, session.opened.transport.info?.description);
      // The reset revoked Serial1 and every buffer: take USART1 and its DMA channel again.
      await this.takeSerial(session);
      this.log.add('link', 'session reopened after the reset');
      void this.registers.refresh();
    } catch (e) {
      this.report(e, 'Reopen');
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

  /** Errors go to the banner (by class and message) and to the log. */
  report(error: unknown, context: string): void {
    this.status.showError(error, context);
    this.log.add('error', `${context}: ${errorName(error)}: ${errorMessage(error)}`);
  }
}
