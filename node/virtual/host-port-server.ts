/**
 * Serves the board's ST-LINK port over TCP, one client at a time, like the
 * real virtual COM port that only one program can open. Each client gets a
 * fresh host port (so a fresh protocol session after its HELLO) on the same,
 * still running board.
 *
 * A client holds the board only while it talks: one that sends no whole
 * frame (bytes ended by the 0x00 delimiter, PROTOCOL.md §1) for the idle
 * timeout is dropped, so neither silence nor a trickle of bytes that never
 * make a frame keeps the board from others. What a client sent is read from its socket as it
 * comes and queued here, so when it leaves, whatever the board has not yet
 * taken (at the board's line rate, 1 MB is minutes) is discarded instead
 * of reaching the board in the next client's session. The next client
 * while one is served is told who holds the board, and since when.
 */
import type { Socket } from 'node:net';
import { BUSY_NOTICE } from '../transport/tcp-transport.ts';
import type { ServableBoard } from './servable-board.ts';
import { type Listening, listenLoopback } from './tcp-listener.ts';

/** Default idle timeout: a client that sends no whole frame for this long is dropped. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Bytes queued from a client before its socket is paused (TCP then holds the client back). */
const QUEUE_HIGH_WATER = 1 << 20;

export interface HostPortServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Drop a client that sends no whole frame for this long (default 60 s); 0: never. */
  readonly idleTimeoutMs?: number;
  /** One line per notable event (client in, client out, refusal). */
  readonly log?: (line: string) => void;
}

interface Holder {
  readonly who: string;
  readonly since: Date;
  /** The client has left; its session is being closed. */
  gone: boolean;
}

export class HostPortServer {
  private session: Promise<void> | undefined;
  private holder: Holder | undefined;
  private sessions = 0;

  private constructor(
    private readonly listening: Listening,
    private readonly board: ServableBoard,
    private readonly idleTimeoutMs: number,
    private readonly log: (line: string) => void,
  ) {}

  static async start(board: ServableBoard, options: HostPortServerOptions): Promise<HostPortServer> {
    let server: HostPortServer | undefined;
    const listening = await listenLoopback(options.port, (socket) => server?.accept(socket));
    server = new HostPortServer(
      listening,
      board,
      options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      options.log ?? (() => {}),
    );
    return server;
  }

  get port(): number {
    return this.listening.port;
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.listening.port}`;
  }

  /** How many clients have been served so far. */
  get sessionCount(): number {
    return this.sessions;
  }

  async close(): Promise<void> {
    await this.listening.close();
    await this.session;
  }

  private accept(socket: Socket): void {
    if (socket.destroyed) return;
    const who = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.session && this.holder?.gone) {
      // The last client has left and its port is closing: this one is next, not refused.
      const session = this.session;
      void session.then(() => this.accept(socket));
      return;
    }
    if (this.session && this.holder) {
      // As a serial port that is already open: the second opener is refused, not queued, and told why.
      const busy = `${BUSY_NOTICE}${this.holder.who} since ${this.holder.since.toISOString()}`;
      this.log(`refused ${who}: ${busy}`);
      socket.on('error', () => {});
      socket.end(`${busy}\n`);
      return;
    }
    let port: ReturnType<ServableBoard['hostPort']>;
    try {
      port = this.board.hostPort({ baudRate: 'follow-board' });
    } catch (error) {
      this.log(`refused ${who}: ${error instanceof Error ? error.message : String(error)}`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.sessions++;
    const holder: Holder = { who, since: new Date(), gone: false };
    this.holder = holder;
    this.log(`client ${who} connected (session ${this.sessions})`);
    this.session = this.serve(socket, port, who, () => {
      holder.gone = true;
    }).finally(() => {
      this.session = undefined;
      this.holder = undefined;
    });
  }

  private async serve(
    socket: Socket,
    port: ReturnType<ServableBoard['hostPort']>,
    who: string,
    onGone: () => void,
  ): Promise<void> {
    const queue: Uint8Array[] = [];
    let queued = 0;
    let gone = false;
    let wake: (() => void) | undefined;
    let why = 'left';
    let idle: NodeJS.Timeout | undefined;
    const armIdle = (): void => {
      if (this.idleTimeoutMs <= 0) return;
      clearTimeout(idle);
      idle = setTimeout(() => {
        why = `was dropped: no whole frame for ${this.idleTimeoutMs / 1000} s`;
        socket.destroy();
      }, this.idleTimeoutMs);
    };
    const end = (): void => {
      if (gone) return;
      gone = true;
      onGone();
      clearTimeout(idle);
      wake?.();
    };
    // Bytes since the last delimiter: a 0x00 after at least one of them ends a frame.
    let frameBytes = 0;
    socket.on('data', (chunk: Buffer) => {
      const last = chunk.lastIndexOf(0);
      if (last < 0) frameBytes += chunk.length;
      else {
        // A frame ended here if a byte other than a delimiter came before this chunk's last delimiter.
        let framed = frameBytes > 0;
        for (let i = 0; !framed && i < last; i++) framed = chunk[i] !== 0;
        frameBytes = chunk.length - 1 - last;
        if (framed) armIdle();
      }
      queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      queued += chunk.byteLength;
      if (queued > QUEUE_HIGH_WATER) socket.pause();
      wake?.();
    });
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
    armIdle();

    // Board to client, as it comes.
    const reader = port.readable.getReader();
    const toClient = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done || gone) break;
          if (!socket.write(value)) await new Promise((r) => socket.once('drain', r).once('close', r));
        }
      } catch {
        // The port closed under the read: the session is over.
      } finally {
        reader.releaseLock();
        socket.destroy();
      }
    })();

    // Client to board, from the queue, while the client is there.
    const writer = port.writable.getWriter();
    try {
      while (!gone) {
        const chunk = queue.shift();
        if (!chunk) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        queued -= chunk.byteLength;
        if (socket.isPaused() && queued < QUEUE_HIGH_WATER / 2) socket.resume();
        await writer.write(chunk);
      }
    } catch {
      // The port closed: the session is over.
    } finally {
      const dropped = queued;
      queue.length = 0;
      writer.releaseLock();
      // What the client left unsent never reaches the board, nor the bytes still on its wire.
      port.discardUnsent?.();
      socket.destroy();
      await port.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await toClient;
      const discarded = dropped > 0 ? `; ${dropped} bytes it sent were discarded, unsent` : '';
      this.log(`client ${who} ${why}${discarded}`);
    }
  }
}
