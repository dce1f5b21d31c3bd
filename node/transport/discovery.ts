/**
 * Finds serial ports, ST-LINK virtual COM ports first: with one Nucleo
 * plugged in, the first entry is the board.
 */
import { realpath } from 'node:fs/promises';
import { loadSerialport } from './load-serialport.ts';
import { listSysfsPorts } from './sysfs-ports.ts';

/** STMicroelectronics' USB vendor ID, which every ST-LINK uses. */
export const ST_VENDOR_ID = 0x0483;

/** ST-LINK probes with a virtual COM port, by USB product ID. */
const ST_LINK_PRODUCTS: ReadonlyMap<number, string> = new Map([
  [0x374b, 'ST-LINK/V2-1'],
  [0x3752, 'ST-LINK/V2-1'],
  [0x374e, 'STLINK-V3'],
  [0x374f, 'STLINK-V3'],
  [0x3753, 'STLINK-V3'],
  [0x3754, 'STLINK-V3'],
  [0x3757, 'STLINK-V3PWR'],
]);

/** What serialport's list() returns for each port (only `path` is certain). */
export interface RawPortInfo {
  readonly path: string;
  readonly manufacturer?: string | undefined;
  readonly serialNumber?: string | undefined;
  readonly vendorId?: string | undefined;
  readonly productId?: string | undefined;
}

export type PortLister = () => Promise<readonly RawPortInfo[]>;

export interface PortListing {
  readonly path: string;
  readonly serialNumber: string | undefined;
  readonly manufacturer: string | undefined;
  /** USB vendor and product IDs as numbers, undefined when the OS does not say. */
  readonly vendorId: number | undefined;
  readonly productId: number | undefined;
  /** True for an ST USB device: on a Nucleo, the ST-LINK's virtual COM port. */
  readonly stLink: boolean;
  /** "ST-LINK/V2-1" and the like, when the product ID is a known probe. */
  readonly probe: string | undefined;
}

/**
 * serialport's listing, or, on Linux where it fails or finds nothing, the
 * ports read from sysfs. serialport asks udevadm, which a container or a
 * minimal install may not have (the listing fails), or whose database is
 * empty where no udev daemon runs (a container given a board's tty: the
 * listing is empty although the port is there).
 */
export function withSysfsFallback(
  primary: PortLister,
  fallback: PortLister,
  platform: NodeJS.Platform = process.platform,
): PortLister {
  return async () => {
    if (platform !== 'linux') return primary();
    const ports = await primary().catch(() => []);
    return ports.length > 0 ? ports : fallback();
  };
}

export const systemPortLister: PortLister = withSysfsFallback(
  async () => (await loadSerialport()).SerialPort.list(),
  () => listSysfsPorts(),
);

/** The ports of this machine, ST-LINK first, then by path. */
export async function listPorts(lister: PortLister = systemPortLister): Promise<PortListing[]> {
  return orderPorts(await lister());
}

export function orderPorts(ports: readonly RawPortInfo[]): PortListing[] {
  return ports.map(describePort).sort(comparePorts);
}

export function describePort(info: RawPortInfo): PortListing {
  const vendorId = parseUsbId(info.vendorId);
  const productId = parseUsbId(info.productId);
  const stLink = vendorId === ST_VENDOR_ID;
  return {
    path: info.path,
    serialNumber: info.serialNumber || undefined,
    manufacturer: info.manufacturer || undefined,
    vendorId,
    productId,
    stLink,
    probe: stLink && productId !== undefined ? ST_LINK_PRODUCTS.get(productId) : undefined,
  };
}

/** Finds the port a given serial number is on now (its path can change across an unplug). */
export async function findBySerialNumber(
  serialNumber: string,
  lister: PortLister = systemPortLister,
): Promise<PortListing | undefined> {
  return (await listPorts(lister)).find((port) => port.serialNumber === serialNumber);
}

/**
 * The listing of `path`, also when it is a symbolic link such as
 * /dev/serial/by-id/usb-STMicroelectronics_STM32_STLink_...-if02.
 */
export async function findByPath(
  path: string,
  lister: PortLister = systemPortLister,
): Promise<PortListing | undefined> {
  const ports = await listPorts(lister);
  const direct = ports.find((port) => port.path === path);
  if (direct) return direct;
  const target = await realpath(path).catch(() => undefined);
  return target === undefined ? undefined : ports.find((port) => port.path === target);
}

/** USB IDs come as "0483", "483" or "0x0483" depending on the OS. */
function parseUsbId(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const value = Number.parseInt(text.replace(/^0x/i, ''), 16);
  return Number.isNaN(value) ? undefined : value;
}

function comparePorts(a: PortListing, b: PortListing): number {
  if (a.stLink !== b.stLink) return a.stLink ? -1 : 1;
  // Numeric-aware, so ttyACM2 sorts before ttyACM10.
  return a.path.localeCompare(b.path, 'en', { numeric: true });
}
