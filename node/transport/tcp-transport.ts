/**
 * A Transport over raw TCP: a board attached to another machine and served
 * by ser2net (or socat), or `dma-bridge virtual`. The bytes on the socket are
 * the bytes on the serial line; there is no telnet negotiation.
 */
import { connect, type Socket } from 'node:net';
import { streamsFromDuplex } from './duplex-streams.ts';
import { classifyTcpError, formatHost, TcpAddressError, TcpConnectError } from './errors.ts';
import type { Transport, TransportEnd, TransportInfo } from './transport-shape.ts';

export interface TcpAddress {
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** Accepts `tcp://host:port`, `host:port` and `[ipv6]:port`. */
export function parseTcpAddress(text: string): TcpAddress {
  const rest = text.trim().replace(/^tcp:\/\//i, '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) throw new TcpAddressError(text, 'only tcp:// is supported');
  const match = /^(?:\[([^\]]+)\]|([^:/[\]]+)):(\d+)\/?$/.exec(rest);
  if (!match) throw new TcpAddressError(text, 'expected host:port');
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TcpAddressError(text, `port ${match[3]} is outside 1..65535`);
  }
  return { host, port };
}

export function formatTcpAddress(address: TcpAddress): string {
  return `tcp://${formatHost(address.host)}:${address.port}`;
}

export interface TcpTransportOptions {
  readonly connectTimeoutMs?: number;
  /** Starts the connection; tests pass one that never completes. */
  readonly createConnection?: (address: TcpAddress) => Socket;
  readonly readHighWaterMark?: number;
  readonly writeHighWaterMark?: number;
}

/** How `dma-bridge virtual` begins the line it sends a client it cannot serve. */
export const BUSY_NOTICE = 'board in use by ';

export class TcpTransport implements Transport {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Settles when the streams end: `closed` by close(), `lost` when the peer went away. */
  readonly ended: Promise<TransportEnd>;
  readonly info: TransportInfo;
  private readonly closeStreams: () => Promise<void>;
  /** The first bytes the server sent, kept while they may still be a text notice. */
  #opening = '';
  #notice: string | undefined;

  private constructor(
    readonly address: TcpAddress,
    socket: Socket,
    options: TcpTransportOptions,
  ) {
    const streams = streamsFromDuplex(socket, {
      label: formatTcpAddress(address),
      shutdown: () => destroySocket(socket),
      ...(options.readHighWaterMark !== undefined && { readHighWaterMark: options.readHighWaterMark }),
      ...(options.writeHighWaterMark !== undefined && { writeHighWaterMark: options.writeHighWaterMark }),
    });
    this.readable = streams.readable;
    this.writable = streams.writable;
    this.ended = streams.ended;
    this.closeStreams = streams.close;
    this.info = { kind: 'tcp', description: formatTcpAddress(address) };
    // A busy `dma-bridge virtual` answers a second client with one line of
    // text, then closes: keep it so the caller can say why nothing answered.
    const watch = (chunk: Buffer): void => {
      this.#opening += chunk.toString('latin1');
      const line = this.#opening.indexOf('\n');
      if (line >= 0) {
        const text = this.#opening.slice(0, line);
        if (text.startsWith(BUSY_NOTICE)) this.#notice = text;
      }
      if (
        line >= 0 ||
        this.#opening.length > 200 ||
        !BUSY_NOTICE.startsWith(this.#opening.slice(0, BUSY_NOTICE.length))
      ) {
        socket.off('data', watch);
      }
    };
    socket.on('data', watch);
  }

  /** What the server said instead of serving, e.g. "board in use by 127.0.0.1:5000 since …"; undefined if it served. */
  get serverNotice(): string | undefined {
    return this.#notice;
  }

  static async connect(
    address: string | TcpAddress,
    options: TcpTransportOptions = {},
  ): Promise<TcpTransport> {
    const target = typeof address === 'string' ? parseTcpAddress(address) : address;
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const socket = (options.createConnection ?? connectSocket)(target);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TcpConnectError(target.host, target.port, 'timeout', `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(socket);
      });
      const onError = (error: NodeJS.ErrnoException): void => {
        clearTimeout(timer);
        const reason = classifyTcpError(error.code);
        reject(
          new TcpConnectError(target.host, target.port, reason, error.code ?? error.message, {
            cause: error,
          }),
        );
      };
      socket.once('error', onError);
    });
    // Frames are small and latency-bound: do not let Nagle hold them back.
    socket.setNoDelay(true);
    // Notices a peer machine that vanished without closing the connection.
    socket.setKeepAlive(true, 10_000);
    return new TcpTransport(target, socket, options);
  }

  /** Ends both streams and the connection; safe to call twice or after the peer left. */
  close(): Promise<void> {
    return this.closeStreams();
  }
}

function connectSocket(address: TcpAddress): Socket {
  return connect({ host: address.host, port: address.port });
}

function destroySocket(socket: Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    if (socket.destroyed) {
      resolve();
      return;
    }
    socket.once('close', () => resolve());
    // end() lets queued bytes leave before the FIN; destroy() follows for a peer that never answers.
    socket.end(() => socket.destroy());
    setTimeout(() => socket.destroy(), 500).unref();
  });
}
