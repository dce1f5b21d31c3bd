/**
 * Serial ports from Linux's sysfs, for machines without udev (containers,
 * minimal installs), where serialport's listing fails because it asks
 * `udevadm`. Every tty with a device behind it is a port; for USB ones the
 * vendor, product, serial number and manufacturer come from the USB
 * device's attributes, and /dev/serial/by-id names fill in a serial
 * number sysfs lacks.
 */
import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RawPortInfo } from './discovery.ts';

/** Where the trees are: '/' on a real machine, a temporary directory in tests. */
export interface SysfsRoots {
  readonly sys: string;
  readonly dev: string;
}

const SYSTEM: SysfsRoots = { sys: '/sys', dev: '/dev' };

export async function listSysfsPorts(roots: SysfsRoots = SYSTEM): Promise<RawPortInfo[]> {
  const classDir = join(roots.sys, 'class', 'tty');
  const names = await readdir(classDir).catch(() => [] as string[]);
  const byId = await serialNumbersById(roots.dev);
  const ports: RawPortInfo[] = [];
  for (const name of names) {
    const device = await realpath(join(classDir, name, 'device')).catch(() => undefined);
    if (device === undefined) continue; // a virtual terminal or a pseudo-terminal: no device behind it
    if (name.startsWith('ttyS') && (await isPhantomUart(join(classDir, name), device))) continue;
    const path = join(roots.dev, name);
    const usb = await usbDeviceOf(device);
    const info: { -readonly [K in keyof RawPortInfo]: RawPortInfo[K] } = { path };
    if (usb) {
      info.vendorId = await attribute(usb, 'idVendor');
      info.productId = await attribute(usb, 'idProduct');
      info.serialNumber = await attribute(usb, 'serial');
      info.manufacturer = await attribute(usb, 'manufacturer');
    }
    info.serialNumber ??= byId.get(name);
    ports.push(info);
  }
  return ports;
}

/**
 * The kernel registers legacy 8250 UARTs (ttyS0..31) whether or not the
 * hardware is there; a missing one has UART type 0 (PORT_UNKNOWN) in its
 * `type` attribute. Without that attribute, the legacy platform driver
 * serial8250 behind the tty says the same.
 */
async function isPhantomUart(ttyDir: string, device: string): Promise<boolean> {
  const type = await attribute(ttyDir, 'type');
  if (type !== undefined) return type === '0';
  const driver = await readlink(join(device, 'driver')).catch(() => undefined);
  return driver !== undefined && basename(driver) === 'serial8250';
}

/** The USB device a tty's device (an interface) belongs to: the nearest parent with idVendor. */
async function usbDeviceOf(device: string): Promise<string | undefined> {
  let dir = device;
  for (let depth = 0; depth < 4; depth++) {
    if ((await attribute(dir, 'idVendor')) !== undefined) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

async function attribute(dir: string, name: string): Promise<string | undefined> {
  const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
  const value = text?.trim();
  return value ? value : undefined;
}

/**
 * /dev/serial/by-id/usb-<maker>_<product>_<serial>-if<NN>: the serial number
 * is the last `_` field before the interface suffix, keyed by tty name.
 */
async function serialNumbersById(dev: string): Promise<Map<string, string>> {
  const dir = join(dev, 'serial', 'by-id');
  const out = new Map<string, string>();
  for (const link of await readdir(dir).catch(() => [] as string[])) {
    const target = await readlink(join(dir, link)).catch(() => undefined);
    const match = /^usb-.*_([^_]+)-if\d+(?:-port\d+)?$/.exec(link);
    if (target !== undefined && match) out.set(basename(target), match[1]!);
  }
  return out;
}
