/**
 * Serves the board's ST-LINK port over TCP, one client at a time, like the
 * real virtual COM port that only one program can open. Each client gets a
 * fresh host port (so a fresh protocol session after its HELLO) on the same,
 * still running board.
 */
import type { Socket } from 'node:net';
import { streamsFromDuplex } from '../transport/duplex-streams.ts';
import type { ServableBoard } from './servable-board.ts';
import { splice } from './splice.ts';
import { type Listening, listenLoopback } from './tcp-listener.ts';

export interface HostPortServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** One line per notable event (client in, client out, refusal). */
  readonly log?: (line: string) => void;
}

export class HostPortServer {
  private session: Promise<void> | undefined;
  private sessions = 0;

  private constructor(
    private readonly listening: Listening,
    private readonly board: ServableBoard,
    private readonly log: (line: string) => void,
  ) {}

  static async start(board: ServableBoard, options: HostPortServerOptions): Promise<HostPortServer> {
    let server: HostPortServer | undefined;
    const listening = await listenLoopback(options.port, (socket) => server?.accept(socket));
    server = new HostPortServer(listening, board, options.log ?? (() => {}));
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
    const who = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.session) {
      // As a serial port that is already open: the second opener is refused, not queued.
      this.log(`refused ${who}: another client holds the board's port`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.sessions++;
    this.log(`client ${who} connected (session ${this.sessions})`);
    const client = streamsFromDuplex(socket, {
      label: `client ${who}`,
      shutdown: async () => {
        socket.destroy();
      },
    });
    let port: ReturnType<ServableBoard['hostPort']>;
    try {
      port = this.board.hostPort({ baudRate: 'follow-board' });
    } catch (error) {
      this.log(`refused ${who}: ${error instanceof Error ? error.message : String(error)}`);
      void client.close();
      return;
    }
    this.session = splice(client, port).finally(() => {
      this.session = undefined;
      this.log(`client ${who} left`);
    });
  }
}
