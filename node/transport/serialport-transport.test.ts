import { SerialPortMock } from 'serialport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionLostError, classifyPortOpenError, PortOpenError, TransportClosedError } from './errors.ts';
import { type SerialPortSettings, SerialportTransport } from './serialport-transport.ts';

const PATH = '/dev/ttyACM0';
// The binding instance serialport itself uses (importing @serialport/binding-mock
// from ESM would load a second copy with its own list of ports).
const MockBinding = SerialPortMock.binding;

/** Opens ports over serialport's in-memory binding and remembers the last one. */
function mockFactory(): {
  create: (settings: SerialPortSettings) => SerialPortMock;
  last: () => SerialPortMock;
} {
  let last: SerialPortMock | undefined;
  return {
    create: (settings) => {
      last = new SerialPortMock(settings);
      return last;
    },
    last: () => {
      if (!last) throw new Error('no port opened yet');
      return last;
    },
  };
}

async function readBytes(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(count);
  let filled = 0;
  while (filled < count) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended after ${filled} of ${count} bytes`);
    out.set(value, filled);
    filled += value.byteLength;
  }
  return out;
}

describe('SerialportTransport', () => {
  beforeEach(() => {
    MockBinding.createPort(PATH, { record: true });
  });
  afterEach(() => {
    MockBinding.reset();
  });

  it('opens at 115200 8N1 by default and carries bytes both ways', async () => {
    const ports = mockFactory();
    const transport = await SerialportTransport.open(PATH, { createPort: ports.create });
    const port = ports.last();
    expect(transport.baudRate).toBe(115200);
    expect(port.port?.openOptions).toMatchObject({
      baudRate: 115200,
      dataBits: 8,
      stopBits: 1,
      parity: 'none',
    });

    const writer = transport.writable.getWriter();
    await writer.write(new Uint8Array([0x00, 0x01, 0x02]));
    expect([...(port.port?.recording ?? [])]).toEqual([0x00, 0x01, 0x02]);

    const reader = transport.readable.getReader();
    port.port?.emitData(Buffer.from([0xaa, 0xbb]));
    expect([...(await readBytes(reader, 2))]).toEqual([0xaa, 0xbb]);
    await transport.close();
  });

  it('changes the rate of the open port, keeping its streams, and says when the port refuses', async () => {
    const ports = mockFactory();
    const transport = await SerialportTransport.open(PATH, { createPort: ports.create });
    const port = ports.last();
    const writer = transport.writable.getWriter();
    await transport.setBaudRate(2_000_000);
    expect(transport.baudRate).toBe(2_000_000);
    expect(port.baudRate).toBe(2_000_000);
    await writer.write(new Uint8Array([0x42]));
    expect([...(port.port?.recording ?? [])]).toEqual([0x42]);
    await expect(transport.setBaudRate(-5)).rejects.toThrow(/positive whole number/);
    const failing = Object.assign(port, {
      update: (_: unknown, callback?: (error: Error | null) => void) =>
        callback?.(new Error('Error: ioctl(TCSETS2) failed: Invalid argument')),
    });
    expect(failing).toBe(port);
    await expect(transport.setBaudRate(3_000_000)).rejects.toThrow(
      `${PATH} cannot run at 3000000 baud: ioctl(TCSETS2) failed: Invalid argument`,
    );
    expect(transport.baudRate).toBe(2_000_000);
    await transport.close();
  });

  it('pauses the port while nobody reads, and loses nothing', async () => {
    const ports = mockFactory();
    const transport = await SerialportTransport.open(PATH, {
      createPort: ports.create,
      readHighWaterMark: 16,
    });
    const port = ports.last();
    const sent = Uint8Array.from({ length: 4000 }, (_, i) => i & 0xff);
    for (let i = 0; i < sent.length; i += 100) port.port?.emitData(Buffer.from(sent.subarray(i, i + 100)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(port.isPaused()).toBe(true);

    const reader = transport.readable.getReader();
    expect(await readBytes(reader, sent.length)).toEqual(sent);
    await transport.close();
  });

  it('applies back-pressure to writers: desiredSize goes negative until the port has taken the bytes', async () => {
    const ports = mockFactory();
    const transport = await SerialportTransport.open(PATH, {
      createPort: ports.create,
      writeHighWaterMark: 8,
    });
    const writer = transport.writable.getWriter();
    const writes = [0, 1, 2, 3].map((n) => writer.write(new Uint8Array(8).fill(n)));
    expect(writer.desiredSize).toBeLessThan(0);
    await Promise.all(writes);
    await writer.ready;
    expect(writer.desiredSize).toBe(8);
    const recorded = [...(ports.last().port?.recording ?? [])];
    expect(recorded).toEqual([0, 1, 2, 3].flatMap((n) => new Array<number>(8).fill(n)));
    await transport.close();
  });

  it('close() ends the reader, fails later writes, and may be called again', async () => {
    const ports = mockFactory();
    const transport = await SerialportTransport.open(PATH, { createPort: ports.create });
    const reader = transport.readable.getReader();
    const writer = transport.writable.getWriter();
    const pending = reader.read();
    await transport.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    await expect(writer.write(new Uint8Array([1]))).rejects.toBeInstanceOf(TransportClosedError);
    await transport.close();
    expect(await transport.ended).toEqual({ kind: 'closed' });
    expect(ports.last().isOpen).toBe(false);
  });

  it('turns an unplug into a ConnectionLostError for the reader and the writer', async () => {
    const ports = mockFactory();
    const transport = await SerialportTransport.open(PATH, { createPort: ports.create });
    const reader = transport.readable.getReader();
    const writer = transport.writable.getWriter();
    const pending = reader.read();
    // What serialport does when the OS read fails with anything but a cancel.
    ports.last()._disconnected(new Error('device reports readiness to read but returned no data'));
    await expect(pending).rejects.toBeInstanceOf(ConnectionLostError);
    await expect(pending).rejects.toThrow(/serial port \/dev\/ttyACM0 was disconnected: device reports/);
    await expect(writer.write(new Uint8Array([1]))).rejects.toBeInstanceOf(ConnectionLostError);
    const end = await transport.ended;
    expect(end.kind).toBe('lost');
    // The driver knows it as its own "transport closed" failure.
    expect(end.kind === 'lost' && end.error).toBeInstanceOf(TransportClosedError);
    await expect(transport.close()).resolves.toBeUndefined();
  });

  it('explains a port that does not exist', async () => {
    const ports = mockFactory();
    const error = await SerialportTransport.open('/dev/ttyNOPE', { createPort: ports.create }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(PortOpenError);
    expect(error).toMatchObject({ path: '/dev/ttyNOPE', reason: 'not-found' });
    expect(error.message).toMatch(/cannot open serial port \/dev\/ttyNOPE: .*dma-bridge list/);
  });

  it('explains a port another program holds', async () => {
    const ports = mockFactory();
    const first = await SerialportTransport.open(PATH, { createPort: ports.create });
    const error = await SerialportTransport.open(PATH, { createPort: ports.create }).catch((e) => e);
    expect(error).toMatchObject({ name: 'PortOpenError', reason: 'busy' });
    expect(error.message).toMatch(/another program holds the port/);
    await first.close();
  });

  it('refuses a nonsensical baud rate before touching the port', async () => {
    await expect(SerialportTransport.open(PATH, { baudRate: 0 })).rejects.toThrow(/baud rate/);
  });
});

describe('classifyPortOpenError', () => {
  it.each([
    ['Error: Permission denied, cannot open /dev/ttyACM0', 'permission'],
    ['Error: No such file or directory, cannot open /dev/ttyACM9', 'not-found'],
    ['Error Resource temporarily unavailable Cannot lock port', 'busy'],
    ['Opening COM3: Access denied', 'permission'],
    ['Opening COM7: File not found', 'not-found'],
    ['something else entirely', 'unknown'],
  ] as const)('%s → %s', (message, reason) => {
    expect(classifyPortOpenError(message)).toBe(reason);
  });

  it('hints at the dialout group for permissions', () => {
    const error = new PortOpenError('/dev/ttyACM0', 'permission', 'Permission denied');
    expect(error.message).toMatch(/dialout/);
  });
});
