/**
 * Serves a virtual board as a real one would be reachable: its ST-LINK port
 * (USART2) on a TCP port and on a pseudo-terminal, and USART1's far end to
 * stderr or on a second TCP port. Programs then open it with --port
 * tcp://127.0.0.1:PORT or the pty path, exactly as they open a real board.
 */
import { HostPortServer } from './virtual/host-port-server.ts';
import { logPeerBytes } from './virtual/peer-log.ts';
import { PeerServer } from './virtual/peer-server.ts';
import { PtyBridge, SocatError } from './virtual/pty-bridge.ts';
import type { ServableBoard } from './virtual/servable-board.ts';

export interface VirtualServerOptions {
  /** TCP port for the board's ST-LINK port on 127.0.0.1; 0 picks a free one. */
  readonly tcpPort?: number;
  /**
   * Make a pseudo-terminal too (needs socat); 'if-available': when socat is
   * not installed, say so in the log and serve TCP only.
   */
  readonly pty?: boolean | 'if-available';
  /** A symbolic link to the pty, stable across sessions. */
  readonly ptyLink?: string;
  /** Carry USART1's bytes on this TCP port instead of printing them. */
  readonly peerTcpPort?: number;
  /** Print what the virtual USART1 peer receives (ignored with peerTcpPort). */
  readonly printPeer?: boolean;
  /** Drop a TCP client that sends no whole frame for this long (default 60 s); 0: never. */
  readonly idleTimeoutMs?: number;
  /** Where log lines go (default: stderr). */
  readonly log?: (line: string) => void;
}

export interface VirtualServerAddresses {
  /** tcp://127.0.0.1:PORT of the board's ST-LINK port. */
  readonly tcp: string;
  /** The pty device, when one was made. */
  readonly pty: string | undefined;
  readonly ptyLink: string | undefined;
  /** tcp://127.0.0.1:PORT of USART1's far end, when asked for. */
  readonly peerTcp: string | undefined;
}

export class VirtualServer {
  private constructor(
    private readonly hostServer: HostPortServer,
    private readonly pty: PtyBridge | undefined,
    private readonly peerServer: PeerServer | undefined,
    private readonly stopPeerLog: (() => void) | undefined,
  ) {}

  static async start(board: ServableBoard, options: VirtualServerOptions = {}): Promise<VirtualServer> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const started: { close(): Promise<void> | void }[] = [];
    try {
      const hostServer = await HostPortServer.start(board, {
        port: options.tcpPort ?? 0,
        log,
        ...(options.idleTimeoutMs !== undefined && { idleTimeoutMs: options.idleTimeoutMs }),
      });
      started.push(hostServer);
      let peerServer: PeerServer | undefined;
      let stopPeerLog: (() => void) | undefined;
      if (options.peerTcpPort !== undefined) {
        peerServer = await PeerServer.start(board.peer, { port: options.peerTcpPort, log });
        started.push(peerServer);
      } else if (options.printPeer) {
        stopPeerLog = logPeerBytes(board.peer, log);
        started.push({ close: stopPeerLog });
      }
      let pty: PtyBridge | undefined;
      if (options.pty) {
        try {
          pty = await PtyBridge.start({
            tcpPort: hostServer.port,
            log,
            ...(options.ptyLink !== undefined && { link: options.ptyLink }),
          });
        } catch (error) {
          const missing = (error as { cause?: { code?: unknown } }).cause?.code === 'ENOENT';
          if (!(options.pty === 'if-available' && error instanceof SocatError && missing)) throw error;
          log(
            'no pseudo-terminal: socat is not installed (Debian/Ubuntu: sudo apt-get install socat); serving TCP only',
          );
        }
      }
      return new VirtualServer(hostServer, pty, peerServer, stopPeerLog);
    } catch (error) {
      // Leave nothing listening behind a failed start.
      await Promise.allSettled(started.map((part) => part.close()));
      throw error;
    }
  }

  get addresses(): VirtualServerAddresses {
    return {
      tcp: this.hostServer.url,
      pty: this.pty?.path,
      ptyLink: this.pty?.link,
      peerTcp: this.peerServer?.url,
    };
  }

  /** How many TCP clients (the pty's among them) have been served. */
  get sessionCount(): number {
    return this.hostServer.sessionCount;
  }

  /** Counts the pty's sessions (see PtyBridge.generation); 0 without a pty. */
  get ptyGeneration(): number {
    return this.pty?.generation ?? 0;
  }

  /** Stops socat, the listeners and every connection; the board itself is the caller's. */
  async close(): Promise<void> {
    this.stopPeerLog?.();
    await Promise.allSettled([this.pty?.close(), this.peerServer?.close()]);
    await this.hostServer.close();
  }
}
