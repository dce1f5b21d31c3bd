/**
 * USART1's far end over TCP: what a client sends is injected on the board's
 * USART1 RX, what the board's USART1 transmits goes to the client. One
 * client at a time; with none connected the board's bytes fall on the floor,
 * as on a wire with nothing attached.
 */
import type { Socket } from 'node:net';
import { batchBytes } from './byte-batcher.ts';
import type { ServablePeer } from './servable-board.ts';
import { type Listening, listenLoopback } from './tcp-listener.ts';

export interface PeerServerOptions {
  readonly port: number;
  readonly log?: (line: string) => void;
}

export class PeerServer {
  private client: Socket | undefined;
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly listening: Listening,
    private readonly peer: ServablePeer,
    private readonly log: (line: string) => void,
  ) {
    const batch = batchBytes((chunk) => this.client?.write(chunk));
    this.unsubscribe = peer.onByte((byte) => batch.push(byte));
  }

  static async start(peer: ServablePeer, options: PeerServerOptions): Promise<PeerServer> {
    let server: PeerServer | undefined;
    const listening = await listenLoopback(options.port, (socket) => server?.accept(socket));
    server = new PeerServer(listening, peer, options.log ?? (() => {}));
    return server;
  }

  get port(): number {
    return this.listening.port;
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.listening.port}`;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.listening.close();
  }

  private accept(socket: Socket): void {
    const who = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.client) {
      this.log(`usart1 peer: refused ${who}, another client is attached`);
      socket.destroy();
      return;
    }
    this.client = socket;
    socket.setNoDelay(true);
    this.log(`usart1 peer: ${who} attached`);
    // The board's RX runs at USART1's line rate in virtual time and queues
    // without bound, so there is no back-pressure to apply here.
    socket.on('data', (chunk: Buffer) => this.peer.inject(new Uint8Array(chunk)));
    socket.on('error', () => {});
    socket.once('close', () => {
      if (this.client === socket) this.client = undefined;
      this.log(`usart1 peer: ${who} detached`);
    });
  }
}
