/**
 * One connected board as the console sees it: the link's session (HELLO),
 * its notifications, and register reads for the live panel. Panels talk
 * to this object only, so they do not change when the driver's layers
 * above the link take over more of the work.
 */
import { Link, type LinkListener } from '../../../driver/link/index.ts';
import {
  type BatchOp,
  type HelloInfo,
  STATUS_DESCRIPTIONS,
  Status,
  type StatusCode,
  statusName,
} from '../../../driver/protocol/index.ts';
import { DriverError } from '../../../driver/transport/errors.ts';
import type { OpenedTransport } from './open-transport.ts';

/** The board refused a request the console made; the message is the protocol's explanation. */
export class BoardRefusedError extends DriverError {
  override name = 'BoardRefusedError';
}

function refused(what: string, status: number): BoardRefusedError {
  return new BoardRefusedError(
    `${what} was refused: ${statusName(status)}, ${STATUS_DESCRIPTIONS[status as StatusCode] ?? 'unknown status'}`,
  );
}

export class ConsoleSession {
  /** Wall-clock origin of the session, for log timestamps. */
  readonly startedAt = performance.now();

  private constructor(
    readonly opened: OpenedTransport,
    readonly link: Link,
  ) {}

  /** Opens the link (HELLO). Closes the transport if that fails. */
  static async open(opened: OpenedTransport): Promise<ConsoleSession> {
    const link = await Link.open(opened.transport);
    return new ConsoleSession(opened, link);
  }

  get hello(): HelloInfo {
    return this.link.helloInfo;
  }

  subscribe(listener: LinkListener): () => void {
    return this.link.subscribe(listener);
  }

  /** Reads registers in one REG_BATCH request, in the order given. */
  readRegisters(addresses: readonly number[]): Promise<number[]> {
    return this.batch(addresses.map((address) => ({ op: 'read', address })));
  }

  /** Runs a REG_BATCH; resolves with the values read, or throws the board's refusal. */
  async batch(ops: readonly BatchOp[]): Promise<number[]> {
    const reply = await this.link.request({ command: 'reg-batch', ops });
    if (reply.result.status !== Status.OK) {
      const failed = ops[reply.executed];
      throw refused(
        failed ? `${failed.op} of 0x${failed.address.toString(16).padStart(8, '0')}` : 'a register batch',
        reply.result.status,
      );
    }
    return reply.values;
  }

  async memWrite(address: number, data: Uint8Array): Promise<void> {
    const reply = await this.link.request({ command: 'mem-write', address, data });
    if (reply.result.status !== Status.OK) throw refused('writing arena memory', reply.result.status);
  }

  async memRead(address: number, length: number): Promise<Uint8Array> {
    const reply = await this.link.request({ command: 'mem-read', address, length });
    if (reply.result.status !== Status.OK) throw refused('reading arena memory', reply.result.status);
    return reply.result.data;
  }

  /** Re-opens the session after a board reset (HELLO again). */
  reopen(): Promise<HelloInfo> {
    return this.link.reopen();
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
