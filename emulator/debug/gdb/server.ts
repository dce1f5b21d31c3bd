/**
 * The GDB stub on TCP, 127.0.0.1 only: one GDB at a time (a new
 * connection takes over from the last); each connection debugs a fresh
 * target, so GDB can detach and attach again.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { DebugTarget } from '../target.ts';
import { GdbSession, type GdbSessionOptions } from './session.ts';

export interface GdbServer {
  /** The port listened on (the one asked for, or the one the system chose for 0). */
  readonly port: number;
  /** Whether a GDB is connected. */
  readonly attached: boolean;
  /** Closes the port and any connection; the target is left running. */
  close(): Promise<void>;
}

export interface GdbServerOptions extends GdbSessionOptions {
  /** Told when GDB connects and disconnects. */
  readonly log?: (line: string) => void;
}

export async function startGdbServer(
  port: number,
  makeTarget: () => DebugTarget,
  options: GdbServerOptions = {},
): Promise<GdbServer> {
  let current: { socket: Socket; session: GdbSession } | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A new GDB takes over (one that detached may not have closed yet, or one died).
    if (current) {
      current.session.close();
      current.socket.destroy();
      current = undefined;
    }
    socket.setNoDelay(true);
    const session = new GdbSession(makeTarget(), (text) => socket.write(text, 'latin1'), options);
    const entry = { socket, session };
    current = entry;
    options.log?.(`gdb: connected from ${socket.remoteAddress}:${socket.remotePort}`);
    socket.on('data', (data) => session.receive(data));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      session.close();
      if (current === entry) current = undefined;
      options.log?.('gdb: disconnected');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return {
    port: bound,
    get attached() {
      return current !== undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
