import { createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionLostError, TcpAddressError, TcpConnectError, TransportClosedError } from './errors.ts';
import { formatTcpAddress, parseTcpAddress, TcpTransport } from './tcp-transport.ts';

const servers: Server[] = [];
const accepted: Socket[] = [];

/** A server on 127.0.0.1 and a promise of its first client's socket. */
async function listen(): Promise<{ port: number; client: Promise<Socket>; server: Server }> {
  let accept!: (socket: Socket) => void;
  const client = new Promise<Socket>((resolve) => {
    accept = resolve;
  });
  const server = createServer((socket) => {
    accepted.push(socket);
    accept(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { port: address.port, client, server };
}

function received(socket: Socket, count: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= count) resolve(Buffer.concat(chunks));
    });
  });
}

afterEach(async () => {
  for (const socket of accepted.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) {
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('parseTcpAddress', () => {
  it.each([
    ['tcp://raspberrypi.local:4000', { host: 'raspberrypi.local', port: 4000 }],
    ['127.0.0.1:2000', { host: '127.0.0.1', port: 2000 }],
    ['tcp://[::1]:3333', { host: '::1', port: 3333 }],
    ['TCP://board:1/', { host: 'board', port: 1 }],
  ])('%s', (text, address) => {
    expect(parseTcpAddress(text)).toEqual(address);
  });

  it.each(['tcp://host', 'host:0', 'host:65536', 'http://host:80', 'tcp://:80', ''])('refuses %j', (text) => {
    expect(() => parseTcpAddress(text)).toThrow(TcpAddressError);
  });

  it('formats back, bracketing IPv6', () => {
    expect(formatTcpAddress({ host: '::1', port: 4000 })).toBe('tcp://[::1]:4000');
  });
});

describe('TcpTransport', () => {
  it('carries bytes both ways', async () => {
    const { port, client } = await listen();
    const transport = await TcpTransport.connect(`tcp://127.0.0.1:${port}`);
    const peer = await client;
    const writer = transport.writable.getWriter();
    const arrived = received(peer, 3);
    await writer.write(new Uint8Array([1, 2, 3]));
    expect([...(await arrived)]).toEqual([1, 2, 3]);

    const reader = transport.readable.getReader();
    peer.write(Buffer.from([9, 8]));
    const { value } = await reader.read();
    expect([...(value ?? [])]).toEqual([9, 8]);
    await transport.close();
  });

  it('close() ends the reader, tells the peer, fails later writes and may repeat', async () => {
    const { port, client } = await listen();
    const transport = await TcpTransport.connect({ host: '127.0.0.1', port });
    const peer = await client;
    const peerEnded = new Promise((resolve) => peer.once('end', resolve));
    const reader = transport.readable.getReader();
    const writer = transport.writable.getWriter();
    const pending = reader.read();
    await transport.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    await peerEnded;
    await expect(writer.write(new Uint8Array([1]))).rejects.toBeInstanceOf(TransportClosedError);
    await expect(transport.close()).resolves.toBeUndefined();
  });

  it('reports a peer that goes away as a ConnectionLostError', async () => {
    const { port, client } = await listen();
    const transport = await TcpTransport.connect(`127.0.0.1:${port}`);
    const reader = transport.readable.getReader();
    (await client).destroy();
    await expect(reader.read()).rejects.toBeInstanceOf(ConnectionLostError);
    expect((await transport.ended).kind).toBe('lost');
    await expect(transport.close()).resolves.toBeUndefined();
  });

  it('explains a refused connection', async () => {
    const { port, server } = await listen();
    await new Promise((resolve) => server.close(resolve));
    servers.pop();
    const error = await TcpTransport.connect(`127.0.0.1:${port}`).catch((e) => e);
    expect(error).toBeInstanceOf(TcpConnectError);
    expect(error).toMatchObject({ reason: 'refused', port });
    expect(error.message).toMatch(
      new RegExp(`cannot connect to tcp://127.0.0.1:${port}: ECONNREFUSED; nothing listens`),
    );
  });

  it('explains a host name that does not resolve', async () => {
    const error = await TcpTransport.connect('tcp://no-such-host.invalid:4000').catch((e) => e);
    expect(error).toMatchObject({ name: 'TcpConnectError', reason: 'not-found' });
  });

  it('gives up after the connect timeout', async () => {
    // A socket that never connects, as behind a firewall that drops packets.
    const silent = new Socket();
    const error = await TcpTransport.connect('tcp://10.0.0.99:4000', {
      connectTimeoutMs: 20,
      createConnection: () => silent,
    }).catch((e) => e);
    expect(error).toMatchObject({ name: 'TcpConnectError', reason: 'timeout' });
    expect(error.message).toMatch(/no answer within 20 ms; the host does not answer/);
    expect(silent.destroyed).toBe(true);
  });
});
