/**
 * Joins two transports back to back until either side ends, then closes
 * both. pipeTo carries the back-pressure: a slow reader on one side holds
 * the writer on the other.
 */
import type { Transport } from '../transport/transport-shape.ts';

export async function splice(a: Transport, b: Transport): Promise<void> {
  const options = { preventClose: true, preventAbort: true, preventCancel: true };
  const directions = [a.readable.pipeTo(b.writable, options), b.readable.pipeTo(a.writable, options)];
  // Either direction ending (a client leaving, a port closing) ends the session.
  await Promise.race(directions.map((pipe) => pipe.catch(() => {})));
  await Promise.allSettled([a.close(), b.close()]);
  await Promise.allSettled(directions);
}
