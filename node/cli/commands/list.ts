/** `dma-bridge list`: the serial ports of this machine, ST-LINK first. */
import { z } from 'zod';
import { hex } from '../../../format/bytes.ts';
import { listPorts, type PortListing } from '../../transport/discovery.ts';
import { defineCommand } from '../command.ts';
import { columns } from '../layout.ts';

export const listCommand = defineCommand({
  name: 'list',
  summary: 'list serial ports, ST-LINK virtual COM ports first',
  synopsis: '[--json]',
  details: [],
  options: { json: { type: 'boolean' } },
  allowPositionals: false,
  schema: z.object({ json: z.boolean().default(false) }),
  async run(args, io) {
    const ports = await listPorts();
    if (args.json) {
      io.out(JSON.stringify(ports.map(toJson)));
      return undefined;
    }
    if (ports.length === 0) {
      io.note('no serial ports found; is the board plugged in (and its USB cable a data cable)?');
      return undefined;
    }
    const rows = ports.map((port) => [
      port.path,
      port.serialNumber ?? '-',
      usbId(port),
      port.manufacturer ?? '-',
      port.probe ?? (port.stLink ? 'ST USB device' : ''),
    ]);
    for (const line of columns([['PATH', 'SERIAL', 'USB ID', 'MANUFACTURER', 'PROBE'], ...rows]))
      io.out(line);
  },
});

function usbId(port: PortListing): string {
  if (port.vendorId === undefined) return '-';
  const product = port.productId === undefined ? '????' : hex(port.productId, 4).slice(2);
  return `${hex(port.vendorId, 4).slice(2)}:${product}`;
}

function toJson(port: PortListing) {
  return {
    path: port.path,
    serialNumber: port.serialNumber ?? null,
    manufacturer: port.manufacturer ?? null,
    vendorId: port.vendorId ?? null,
    productId: port.productId ?? null,
    stLink: port.stLink,
    probe: port.probe ?? null,
  };
}
