import { describe, expect, it } from 'vitest';
import {
  findBySerialNumber,
  listPorts,
  orderPorts,
  type PortLister,
  type RawPortInfo,
  withSysfsFallback,
} from './discovery.ts';

const machine: RawPortInfo[] = [
  { path: '/dev/ttyS0' },
  {
    path: '/dev/ttyUSB0',
    manufacturer: 'FTDI',
    serialNumber: 'A50285BI',
    vendorId: '0403',
    productId: '6001',
  },
  {
    path: '/dev/ttyACM10',
    manufacturer: 'STMicroelectronics',
    serialNumber: '066BFF3',
    vendorId: '0483',
    productId: '374b',
  },
  {
    path: '/dev/ttyACM2',
    manufacturer: 'STMicroelectronics',
    serialNumber: '0670FF5',
    vendorId: '483',
    productId: '374E',
  },
  { path: '/dev/ttyACM1', manufacturer: 'Arduino', serialNumber: '', vendorId: '2341', productId: '0043' },
];

describe('port discovery', () => {
  it('lists ST-LINK ports first, then the others, each by path (numbers in order)', () => {
    expect(orderPorts(machine).map((port) => port.path)).toEqual([
      '/dev/ttyACM2',
      '/dev/ttyACM10',
      '/dev/ttyACM1',
      '/dev/ttyS0',
      '/dev/ttyUSB0',
    ]);
  });

  it('describes each port with its serial number, manufacturer and USB IDs', () => {
    const [first, second] = orderPorts(machine);
    expect(first).toEqual({
      path: '/dev/ttyACM2',
      serialNumber: '0670FF5',
      manufacturer: 'STMicroelectronics',
      vendorId: 0x0483,
      productId: 0x374e,
      stLink: true,
      probe: 'STLINK-V3',
    });
    expect(second?.probe).toBe('ST-LINK/V2-1');
    const arduino = orderPorts(machine).find((port) => port.path === '/dev/ttyACM1');
    expect(arduino).toMatchObject({ stLink: false, probe: undefined, serialNumber: undefined });
  });

  it('finds a board by serial number through any lister', async () => {
    const lister = async () => machine;
    expect((await findBySerialNumber('066BFF3', lister))?.path).toBe('/dev/ttyACM10');
    expect(await findBySerialNumber('nope', lister)).toBeUndefined();
    expect(await listPorts(async () => [])).toEqual([]);
  });
});

describe('the system listing with sysfs behind it', () => {
  const sysfs: PortLister = async () => [{ path: '/dev/ttyACM0', vendorId: '0483', productId: '374b' }];
  const udev: PortLister = async () => [{ path: '/dev/ttyUSB0', vendorId: '0403' }];
  const noUdevadm: PortLister = async () => {
    throw new Error('spawn udevadm ENOENT');
  };
  const noUdevDaemon: PortLister = async () => [];

  it("uses serialport's listing when it finds ports", async () => {
    expect(await withSysfsFallback(udev, sysfs, 'linux')()).toEqual(await udev());
  });

  it('reads sysfs on Linux when udevadm is missing, or when udev knows no port', async () => {
    expect(await withSysfsFallback(noUdevadm, sysfs, 'linux')()).toEqual(await sysfs());
    expect(await withSysfsFallback(noUdevDaemon, sysfs, 'linux')()).toEqual(await sysfs());
  });

  it('leaves other systems to serialport, errors included', async () => {
    await expect(withSysfsFallback(noUdevadm, sysfs, 'darwin')()).rejects.toThrow(/udevadm/);
    expect(await withSysfsFallback(noUdevDaemon, sysfs, 'win32')()).toEqual([]);
  });
});
