/**
 * Two transports joined back to back in memory: bytes written to one end
 * are read from the other. The fake boards of the tests and the virtual
 * board sit on the far end. Closing either end ends both directions, as
 * pulling a USB cable would.
 */

import { BytePipe } from './byte-pipe.ts';
import type { Transport, TransportInfo } from './transport.ts';

export interface MemoryTransportPair {
  /** The host's end (give it to the link). */
  host: Transport;
  /** The device's end (give it to a fake or virtual board). */
  device: Transport;
}

export function createMemoryTransportPair(): MemoryTransportPair {
  const toDevice = new BytePipe('memory transport (host → device)');
  const toHost = new BytePipe('memory transport (device → host)');
  const closeAll = async (): Promise<void> => {
    toDevice.end();
    toHost.end();
  };
  const end = (description: string, readable: BytePipe, writable: BytePipe): Transport => {
    const info: TransportInfo = { kind: 'memory', description };
    return { readable: readable.readable, writable: writable.writable, close: closeAll, info };
  };
  return {
    host: end('in-memory host end', toHost, toDevice),
    device: end('in-memory device end', toDevice, toHost),
  };
}
