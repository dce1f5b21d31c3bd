/**
 * One GDB connection: acknowledgements (and no-ack mode), retransmission
 * of the last packet on `-`, Ctrl-C, and stop replies that arrive when the
 * target stops on its own. Transport-agnostic: bytes in through
 * `receive`, text out through `send`.
 */
import type { DebugTarget, StopReason } from '../target.ts';
import { type CommandContext, handleCommand, outputPacket, RUNNING } from './commands.ts';
import { encodePacket, PacketDecoder } from './packet-codec.ts';
import { stopReply } from './stop-reply.ts';

export interface GdbSessionOptions {
  /** Leave the core running when GDB connects (default: halt it, as GDB expects of `target remote`). */
  readonly attachRunning?: boolean;
  /** Called with each packet in and out, for a log. */
  readonly trace?: (direction: '<' | '>', payload: string) => void;
}

export class GdbSession {
  private readonly decoder = new PacketDecoder();
  private noAck = false;
  private pendingNoAck = false;
  private lastPacket: string | undefined;
  private running = false;
  private breakReasons = false;
  private lastStop: StopReason = { kind: 'interrupt' };
  private ended = false;
  private readonly context: CommandContext;

  constructor(
    private readonly target: DebugTarget,
    private readonly send: (text: string) => void,
    private readonly options: GdbSessionOptions = {},
  ) {
    const session = this;
    this.context = {
      target,
      stopReply: (reason) => session.formatStop(reason),
      get lastStop() {
        return session.lastStop;
      },
      startNoAck: () => {
        this.pendingNoAck = true;
      },
      offerFeatures: (features) => {
        this.breakReasons = features.includes('hwbreak+');
      },
      output: (text) => this.sendPacket(outputPacket(text)),
      detach: () => this.end(),
    };
    target.onStop = (reason) => this.stopped(reason);
    if (!target.halted && !options.attachRunning) target.halt();
  }

  /** Bytes from GDB. */
  receive(bytes: Uint8Array): void {
    for (const event of this.decoder.push(bytes)) {
      switch (event.kind) {
        case 'ack':
          this.lastPacket = undefined;
          break;
        case 'nak':
          if (this.lastPacket !== undefined && !this.noAck) this.send(this.lastPacket);
          break;
        case 'interrupt':
          if (!this.ended) this.target.halt();
          break;
        case 'bad-checksum':
          if (!this.noAck) this.send('-');
          break;
        case 'packet':
          if (!this.noAck) this.send('+');
          this.command(event.payload);
          break;
      }
    }
  }

  /** The connection is gone: stop debugging, leave the board running. */
  close(): void {
    this.end();
  }

  private command(payload: string): void {
    if (this.ended) {
      this.sendPacket('E03');
      return;
    }
    this.options.trace?.('>', payload);
    // A command while running is only valid as a stop request; others wait for the stop.
    const reply = handleCommand(payload, this.context);
    if (reply === RUNNING) {
      this.running = true;
      if (this.target.halted && !this.ended) this.stopped(this.lastStop); // vCont;t on a halted core
      return;
    }
    this.sendPacket(reply);
    if (this.pendingNoAck) {
      this.pendingNoAck = false;
      this.noAck = true;
    }
  }

  private stopped(reason: StopReason): void {
    this.lastStop = reason;
    if (!this.running) return;
    this.running = false;
    this.sendPacket(this.formatStop(reason));
  }

  private formatStop(reason: StopReason): string {
    this.lastStop = reason;
    return stopReply(reason, this.target.readRegisters(), { breakReasons: this.breakReasons });
  }

  private sendPacket(payload: string): void {
    this.options.trace?.('<', payload);
    const framed = encodePacket(payload);
    this.lastPacket = this.noAck ? undefined : framed;
    this.send(framed);
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.running = false;
    this.target.detach();
  }
}
