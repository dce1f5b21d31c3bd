import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EchoBoard } from './test-support/echo-board.ts';
import { SerialportTransport } from './transport/serialport-transport.ts';
import { TcpTransport } from './transport/tcp-transport.ts';
import { formatDumpLine } from './virtual/peer-log.ts';
import type { ServedPort } from './virtual/servable-board.ts';
import { VirtualServer } from './virtual-server.ts';

const running: VirtualServer[] = [];
const log: string[] = [];

async function serve(board: EchoBoard, options: Parameters<typeof VirtualServer.start>[1] = {}) {
  const server = await VirtualServer.start(board, { log: (line) => log.push(line), ...options });
  running.push(server);
  return server;
}

async function roundTrip(
  transport: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  bytes: number[],
) {
  const writer = transport.writable.getWriter();
  const reader = transport.readable.getReader();
  await writer.write(Uint8Array.from(bytes));
  const got: number[] = [];
  while (got.length < bytes.length) {
    const { value, done } = await reader.read();
    if (done) break;
    got.push(...value);
  }
  writer.releaseLock();
  reader.releaseLock();
  return got;
}

function until(condition: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      if (condition()) resolve();
      else if (Date.now() - started > 5000) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 5);
    };
    check();
  });
}

afterEach(async () => {
  await Promise.allSettled(running.splice(0).map((server) => server.close()));
  log.length = 0;
});

describe('VirtualServer over TCP', () => {
  it('serves the board port to a client and a fresh port to the next one', async () => {
    const board = new EchoBoard();
    const server = await serve(board);
    expect(server.addresses.tcp).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);

    const first = await TcpTransport.connect(server.addresses.tcp);
    expect(await roundTrip(first, [1, 2, 3])).toEqual([1, 2, 3]);
    await first.close();
    await until(() => !board.isPortOpen, 'the first session to end');

    const second = await TcpTransport.connect(server.addresses.tcp);
    expect(await roundTrip(second, [4, 5])).toEqual([4, 5]);
    expect(board.opened).toBe(2);
    await second.close();
  });

  it('refuses a second client while one holds the port, as a serial port would', async () => {
    const board = new EchoBoard();
    const server = await serve(board);
    const first = await TcpTransport.connect(server.addresses.tcp);
    await roundTrip(first, [7]);
    const second = await TcpTransport.connect(server.addresses.tcp);
    const end = await second.ended;
    expect(end.kind).toBe('lost');
    expect(
      log.some((line) =>
        /^refused 127\.0\.0\.1:\d+: board in use by 127\.0\.0\.1:\d+ since \d{4}-/.test(line),
      ),
    ).toBe(true);
    expect(await roundTrip(first, [8])).toEqual([8]);
    await first.close();
  });

  it('tells a refused client who holds the board, and since when', async () => {
    const server = await serve(new EchoBoard());
    const first = await TcpTransport.connect(server.addresses.tcp);
    await roundTrip(first, [1]);
    const port = Number(server.addresses.tcp.split(':').at(-1));
    const second: Socket = connect({ host: '127.0.0.1', port });
    let told = '';
    second.on('data', (chunk: Buffer) => {
      told += chunk.toString();
    });
    await new Promise((resolve) => second.once('close', resolve));
    expect(told).toMatch(/^board in use by 127\.0\.0\.1:\d+ since \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    // The driver's own TCP transport keeps the line, so the CLI can say it.
    const third = await TcpTransport.connect(server.addresses.tcp);
    await third.ended;
    expect(third.serverNotice).toMatch(/^board in use by 127\.0\.0\.1:\d+ since /);
    expect(first.serverNotice).toBeUndefined();
    await first.close();
  });

  it('drops a client that stays silent past the idle timeout, then serves the next', async () => {
    const board = new EchoBoard();
    const server = await serve(board, { idleTimeoutMs: 150 });
    const silent = await TcpTransport.connect(server.addresses.tcp);
    const end = await silent.ended;
    expect(end.kind).toBe('lost');
    await until(
      () => log.some((line) => line.includes('was dropped: no whole frame for 0.15 s')),
      'the drop',
    );
    await until(() => !board.isPortOpen, 'the port to close');
    const next = await TcpTransport.connect(server.addresses.tcp);
    expect(await roundTrip(next, [9])).toEqual([9]);
    await next.close();
  });

  it('drops a client that trickles bytes that never make a frame, and keeps one that sends frames', async () => {
    const server = await serve(new EchoBoard(), { idleTimeoutMs: 300 });
    const port = Number(server.addresses.tcp.split(':').at(-1));
    const trickle = async (bytes: number[]): Promise<boolean> => {
      const client: Socket = connect({ host: '127.0.0.1', port });
      await new Promise((resolve) => client.once('connect', resolve));
      let closed = false;
      client.on('close', () => {
        closed = true;
      });
      client.on('error', () => {});
      // Four times the idle timeout, a few bytes every 60 ms.
      for (let i = 0; i < 20 && !closed; i++) {
        client.write(Buffer.from(bytes));
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      client.destroy();
      await until(() => closed, 'the client to close');
      return closed && log.some((line) => line.includes('was dropped: no whole frame for 0.3 s'));
    };
    expect(await trickle([0x55])).toBe(true);
    log.length = 0;
    // A frame each time (bytes, then the 0x00 delimiter): a client that talks keeps the board.
    expect(await trickle([0x01, 0x02, 0x00])).toBe(false);
  });

  it('discards what a client that left had sent and the board had not yet taken', async () => {
    const board = new SlowBoard();
    const server = await serve(board, { idleTimeoutMs: 0 });
    const port = Number(server.addresses.tcp.split(':').at(-1));
    const client: Socket = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => client.once('connect', resolve));
    client.end(Buffer.alloc(1 << 20, 0x55));
    await until(() => board.discarded, 'the port told to discard');
    await until(() => board.closed, 'the port to close');
    // The board took a few chunks at its pace (20 ms each), never the megabyte.
    expect(board.taken).toBeLessThanOrEqual(1 << 19);
    expect(log.some((line) => /left; \d+ bytes it sent were discarded, unsent$/.test(line))).toBe(true);
  });

  it('carries USART1 both ways on --peer-tcp', async () => {
    const board = new EchoBoard();
    const server = await serve(board, { peerTcpPort: 0 });
    const address = server.addresses.peerTcp;
    expect(address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(address?.split(':').at(-1));
    const peer: Socket = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => peer.once('connect', resolve));
    await until(() => log.some((line) => line.includes('attached')), 'the peer to attach');

    peer.write(Buffer.from('hi'));
    await until(() => board.injected.length === 2, 'bytes injected on USART1 RX');
    expect(Buffer.from(board.injected).toString()).toBe('hi');

    const received = new Promise<Buffer>((resolve) => peer.once('data', resolve));
    board.transmit([0x41, 0x42]);
    expect((await received).toString()).toBe('AB');
    peer.destroy();
  });

  it('prints what the USART1 peer receives when asked', async () => {
    const board = new EchoBoard();
    await serve(board, { printPeer: true });
    board.transmit([...Buffer.from('Hello\n')]);
    await until(() => log.some((line) => line.startsWith('usart1 → peer:')), 'the dump line');
    expect(log).toContain(`usart1 → peer: ${formatDumpLine(Uint8Array.from(Buffer.from('Hello\n')))}`);
  });

  it('says which port is taken', async () => {
    const board = new EchoBoard();
    const server = await serve(board);
    const port = Number(server.addresses.tcp.split(':').at(-1));
    await expect(VirtualServer.start(new EchoBoard(), { tcpPort: port, log: () => {} })).rejects.toThrow(
      new RegExp(`cannot listen on 127.0.0.1:${port}: the port is in use`),
    );
  });
});

/** A board whose port takes one small chunk at a time, slowly, as the real board's line rate does. */
class SlowBoard extends EchoBoard {
  taken = 0;
  discarded = false;
  closed = false;

  override hostPort(): ServedPort {
    const port: ServedPort = {
      readable: new ReadableStream<Uint8Array>(),
      writable: new WritableStream<Uint8Array>(
        {
          write: async (chunk) => {
            this.taken += chunk.length;
            await new Promise((r) => setTimeout(r, 20));
          },
        },
        { highWaterMark: 1 },
      ),
      discardUnsent: () => {
        this.discarded = true;
      },
      close: async () => {
        this.closed = true;
      },
    };
    return port;
  }
}

describe('formatDumpLine', () => {
  it('shows hex and printable text', () => {
    expect(formatDumpLine(Uint8Array.from([0x48, 0x69, 0x00, 0xff]))).toBe(
      `48 69 00 ff${' '.repeat(36)}  |Hi..|`,
    );
  });
});

const hasSocat = (() => {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasSocat)('VirtualServer on a pseudo-terminal', () => {
  it('makes a pty that serialport opens, session after session', async () => {
    const board = new EchoBoard();
    const link = `/tmp/dma-bridge-test-${process.pid}`;
    const server = await serve(board, { pty: true, ptyLink: link });
    expect(server.addresses.pty).toMatch(/^\/dev\/pts\/\d+$/);
    expect(server.addresses.ptyLink).toBe(link);

    for (const [session, bytes] of [[0x00, 0x10, 0x20], [0x55]].entries()) {
      // socat serves one session, then a new one makes the pty again.
      await until(() => server.ptyGeneration === session + 1 && existsSync(link), 'the pty to be back');
      const transport = await SerialportTransport.open(link);
      expect(await roundTrip(transport, bytes)).toEqual(bytes);
      await transport.close();
    }
    expect(board.opened).toBe(2);
  });
});
