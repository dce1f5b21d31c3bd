/**
 * One way to name a board from the command line or a test environment
 * variable: a serial port path, or tcp://host:port for a board served over
 * the network (ser2net, `dma-bridge virtual`).
 */
import { SerialportTransport } from './serialport-transport.ts';
import { TcpTransport } from './tcp-transport.ts';
import type { Transport, TransportEnd } from './transport-shape.ts';

export interface OpenTransportOptions {
  /** Serial ports only; TCP carries whatever rate the far side runs. */
  readonly baudRate?: number;
  /** Serial ports only: 'even' to ask for ST's system bootloader (8E1). */
  readonly parity?: 'none' | 'even';
  readonly connectTimeoutMs?: number;
}

export type OpenedTransport = Transport & { readonly ended: Promise<TransportEnd> };

export function isTcpSpec(spec: string): boolean {
  return /^tcp:\/\//i.test(spec.trim());
}

export async function openTransport(
  spec: string,
  options: OpenTransportOptions = {},
): Promise<OpenedTransport> {
  if (isTcpSpec(spec)) {
    const transport = await TcpTransport.connect(spec, {
      ...(options.connectTimeoutMs !== undefined && { connectTimeoutMs: options.connectTimeoutMs }),
    });
    return transport;
  }
  const transport = await SerialportTransport.open(spec, {
    ...(options.baudRate !== undefined && { baudRate: options.baudRate }),
    ...(options.parity !== undefined && { parity: options.parity }),
  });
  return transport;
}
