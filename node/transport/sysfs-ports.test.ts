import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { orderPorts } from './discovery.ts';
import { listSysfsPorts } from './sysfs-ports.ts';

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

/**
 * A machine with a Nucleo's ST-LINK (ttyACM0), a USB-serial adapter without
 * a serial number (ttyUSB0), a UART (ttyS0), two phantom 8250 UARTs and a
 * virtual terminal.
 */
async function fakeMachine(): Promise<{ sys: string; dev: string }> {
  root = await mkdtemp(join(tmpdir(), 'sysfs-'));
  const sys = join(root, 'sys');
  const dev = join(root, 'dev');
  const usb = async (id: string, attrs: Record<string, string>, tty: string) => {
    const device = join(sys, 'devices', 'pci0000:00', 'usb1', id);
    const iface = join(device, `${id}:1.2`);
    await mkdir(join(iface, 'tty', tty), { recursive: true });
    for (const [k, v] of Object.entries(attrs)) await writeFile(join(device, k), `${v}\n`);
    await mkdir(join(sys, 'class', 'tty', tty), { recursive: true });
    await symlink(iface, join(sys, 'class', 'tty', tty, 'device'));
  };
  await usb(
    '1-2',
    { idVendor: '0483', idProduct: '374b', serial: '0670FF3031', manufacturer: 'STMicroelectronics' },
    'ttyACM0',
  );
  await usb('1-3', { idVendor: '1a86', idProduct: '7523' }, 'ttyUSB0');
  const uart = async (tty: string, device: string, driver: string, type?: string) => {
    const dir = join(sys, 'devices', device);
    await mkdir(join(sys, 'bus', driver), { recursive: true });
    await mkdir(dir, { recursive: true });
    await symlink(join(sys, 'bus', driver), join(dir, 'driver'));
    await mkdir(join(sys, 'class', 'tty', tty), { recursive: true });
    await symlink(dir, join(sys, 'class', 'tty', tty, 'device'));
    if (type !== undefined) await writeFile(join(sys, 'class', 'tty', tty, 'type'), `${type}\n`);
  };
  await uart('ttyS0', 'pnp0/00:05', 'serial', '4'); // a 16550A that is there
  await uart('ttyS1', 'platform/serial8250/serial8250:0/serial8250:0.1', 'port', '0'); // phantom, kernel 6
  await uart('ttyS2', 'platform/serial8250-old', 'serial8250'); // phantom, an older kernel without `type`
  await mkdir(join(sys, 'class', 'tty', 'tty1'), { recursive: true });
  await mkdir(join(dev, 'serial', 'by-id'), { recursive: true });
  await symlink('../../ttyUSB0', join(dev, 'serial', 'by-id', 'usb-1a86_USB_Serial_A50285BI-if00-port0'));
  return { sys, dev };
}

describe('ports from sysfs (no udev)', () => {
  it('finds the USB ports with their IDs, ST-LINK first, and skips terminals and phantom UARTs', async () => {
    const roots = await fakeMachine();
    const ports = orderPorts(await listSysfsPorts(roots));
    expect(ports.map((p) => p.path)).toEqual(
      ['ttyACM0', 'ttyS0', 'ttyUSB0'].map((name) => join(roots.dev, name)),
    );
    expect(ports[0]).toMatchObject({
      stLink: true,
      probe: 'ST-LINK/V2-1',
      vendorId: 0x0483,
      productId: 0x374b,
      serialNumber: '0670FF3031',
      manufacturer: 'STMicroelectronics',
    });
    // The serial number sysfs lacks comes from /dev/serial/by-id.
    expect(ports[1]).toMatchObject({ stLink: false, vendorId: undefined });
    expect(ports[2]).toMatchObject({ stLink: false, vendorId: 0x1a86, serialNumber: 'A50285BI' });
  });

  it('gives an empty list on a machine without /sys/class/tty', async () => {
    root = await mkdtemp(join(tmpdir(), 'sysfs-'));
    expect(await listSysfsPorts({ sys: join(root, 'none'), dev: join(root, 'none') })).toEqual([]);
  });
});
