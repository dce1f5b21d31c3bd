/** A TCP server on a loopback address, started and stopped with promises. */
import { createServer, type Server, type Socket } from 'node:net';

export interface Listening {
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

export class ListenError extends Error {
  override name = 'ListenError';
  constructor(
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    const why =
      cause.code === 'EADDRINUSE'
        ? 'the port is in use (another dma-bridge virtual?); pick another with its option, or 0 for any free port'
        : cause.code === 'EACCES'
          ? 'ports below 1024 need privileges; pick a port above 1023'
          : cause.message;
    super(`cannot listen on 127.0.0.1:${port}: ${why}`, { cause });
  }
}

export async function listenLoopback(
  port: number,
  onConnection: (socket: Socket) => void,
): Promise<Listening> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  const host = '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new ListenError(port, error)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  return {
    server,
    port: address.port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
