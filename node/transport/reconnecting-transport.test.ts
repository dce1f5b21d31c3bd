import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import type { RawPortInfo } from './discovery.ts';
import { ConnectionLostError } from './errors.ts';
import {
  ReconnectClosedError,
  ReconnectGaveUpError,
  ReconnectingSerialPort,
} from './reconnecting-transport.ts';
import type { SerialPortSettings } from './serialport-transport.ts';

const MockBinding = SerialPortMock.binding;

/** A machine whose port list the test rewrites, with ports opened over the mock binding. */
function fakeMachine(initial: RawPortInfo[]) {
  let listed = initial;
  const opened: SerialPortMock[] = [];
  for (const port of initial) MockBinding.createPort(port.path, { record: true });
  return {
    list: async () => listed,
    createPort: (settings: SerialPortSettings) => {
      const port = new SerialPortMock(settings);
      opened.push(port);
      return port;
    },
    /** The OS forgets the device: reads fail, the list no longer shows it. */
    unplug() {
      listed = [];
      opened.at(-1)?._disconnected(new Error('Input/output error'));
    },
    plug(port: RawPortInfo) {
      MockBinding.createPort(port.path, { record: true });
      listed = [port];
    },
    opened,
  };
}

const backoff = { initialMs: 5, maxMs: 20, giveUpAfterMs: 300 };

describe('ReconnectingSerialPort', () => {
  afterEach(() => {
    MockBinding.reset();
  });

  it('follows the board by serial number to its new path and hands out a new transport', async () => {
    const machine = fakeMachine([{ path: '/dev/ttyACM0', serialNumber: 'NUCLEO-1', vendorId: '0483' }]);
    const link = await ReconnectingSerialPort.open('/dev/ttyACM0', { ...machine, backoff });
    expect(link.serialNumber).toBe('NUCLEO-1');
    const first = link.transport;
    const reader = first.readable.getReader();
    const disconnected = new Promise<Error>((resolve) => link.once('disconnected', resolve));
    const next = link.nextConnection();

    machine.unplug();
    await expect(reader.read()).rejects.toBeInstanceOf(ConnectionLostError);
    expect(await disconnected).toBeInstanceOf(ConnectionLostError);
    await new Promise((resolve) => setTimeout(resolve, 30));
    machine.plug({ path: '/dev/ttyACM1', serialNumber: 'NUCLEO-1', vendorId: '0483' });

    const second = await next;
    expect(second).not.toBe(first);
    expect(second.path).toBe('/dev/ttyACM1');
    expect(link.transport).toBe(second);
    const writer = second.writable.getWriter();
    await writer.write(new Uint8Array([0x00]));
    expect([...(machine.opened.at(-1)?.port?.recording ?? [])]).toEqual([0x00]);
    await link.close();
  });

  it('ignores another device that appears meanwhile', async () => {
    const machine = fakeMachine([{ path: '/dev/ttyACM0', serialNumber: 'NUCLEO-1' }]);
    const link = await ReconnectingSerialPort.open('/dev/ttyACM0', { ...machine, backoff });
    const gaveUp = new Promise<Error>((resolve) => link.once('gave-up', resolve));
    machine.unplug();
    machine.plug({ path: '/dev/ttyACM0', serialNumber: 'OTHER-BOARD' });
    const error = await gaveUp;
    expect(error).toBeInstanceOf(ReconnectGaveUpError);
    expect(error.message).toMatch(/board \(serial number NUCLEO-1\) did not come back/);
    await expect(link.nextConnection()).rejects.toBeInstanceOf(ReconnectClosedError);
  });

  it('stops looking when closed', async () => {
    const machine = fakeMachine([{ path: '/dev/ttyACM0', serialNumber: 'NUCLEO-1' }]);
    const link = await ReconnectingSerialPort.open('/dev/ttyACM0', { ...machine, backoff });
    const next = link.nextConnection();
    machine.unplug();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await link.close();
    await expect(next).rejects.toBeInstanceOf(ReconnectClosedError);
    machine.plug({ path: '/dev/ttyACM0', serialNumber: 'NUCLEO-1' });
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(machine.opened).toHaveLength(1);
  });
});
