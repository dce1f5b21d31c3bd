/**
 * Recognising the STM32's system bootloader on the board's port: after the
 * first programming of an erased STM32G0, the chip keeps starting its ROM
 * bootloader (which listens on the same ST-LINK virtual COM port, USART2,
 * at 8E1) instead of the bridge firmware until it is powered off and on: the
 * "empty check" (RM0444 §2.5). A host that hears no bridge asks: 0x7F,
 * answered ACK 0x79 (or NACK 0x1F by a bootloader already synchronised),
 * then GET ID (0x02 0xFD), answered ACK, N, the product ID in N + 1 bytes,
 * ACK (ST AN3155). The STM32G07x/G08x's product ID is 0x460.
 */
import { DriverError } from '../driver-error.ts';
import type { Timers } from '../transport/timers.ts';
import type { Transport } from '../transport/transport.ts';

const ACK = 0x79;
const NACK = 0x1f;

export interface SystemBootloaderFound {
  /** The product ID GET ID returned (0x460: STM32G07x/G08x). */
  readonly productId: number;
}

/** The board runs ST's system bootloader, not the bridge firmware: what to do about it. */
export class SystemBootloaderError extends DriverError {
  override name = 'SystemBootloaderError';
  constructor(
    readonly where: string,
    readonly productId: number,
  ) {
    super(
      `the board on ${where} is running the STM32 system bootloader (ROM, product ID 0x${productId.toString(16)}), ` +
        'not the bridge firmware. After its first programming an STM32G0 keeps starting its bootloader, even after ' +
        "a reset, until it is powered off (the empty check). Unplug the board's USB cable, plug it back in, and try " +
        'again. "dma-bridge flash --with openocd" avoids this: it clears the empty check\'s latch (FLASH_ACR.EMPTY) ' +
        'before resetting the board.',
    );
  }
}

/**
 * Asks whether the system bootloader listens on `transport`, which must be
 * open at 115200 baud, 8 data bits, even parity, 1 stop bit (8E1). Returns
 * what it found, or undefined when nothing answered as the bootloader does
 * within `timeoutMs` per exchange. It reads the transport to the end of
 * what it needs and cancels its reading: close the transport afterwards
 * (reopen it at 8N1 for the bridge).
 */
export async function probeSystemBootloader(
  transport: Transport,
  timers: Timers,
  timeoutMs = 200,
): Promise<SystemBootloaderFound | undefined> {
  const reader = transport.readable.getReader();
  const writer = transport.writable.getWriter();
  const got: number[] = [];
  let reading: Promise<void> | undefined;
  const pump = (): Promise<void> =>
    (reading ??= reader.read().then(({ value, done }) => {
      reading = undefined;
      if (done) throw new Error('closed');
      got.push(...value);
    }));
  /** Waits until `n` bytes have arrived; false after `timeoutMs`. */
  const bytes = async (n: number): Promise<boolean> => {
    const deadline = timers.now() + timeoutMs;
    while (got.length < n) {
      const left = deadline - timers.now();
      if (left <= 0) return false;
      let timer: unknown;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = timers.setTimeout(() => resolve('timeout'), left);
      });
      const r = await Promise.race([pump().then(() => 'data' as const), timedOut]).catch(
        () => 'closed' as const,
      );
      timers.clearTimeout(timer);
      if (r !== 'data') return got.length >= n;
    }
    return true;
  };
  try {
    await writer.write(Uint8Array.of(0x7f));
    if (!(await bytes(1)) || (got[0] !== ACK && got[0] !== NACK)) return undefined;
    got.length = 0;
    await writer.write(Uint8Array.of(0x02, 0xfd));
    if (!(await bytes(2)) || got[0] !== ACK) return undefined;
    const n = got[1]! + 1;
    if (!(await bytes(2 + n + 1)) || got[2 + n] !== ACK) return undefined;
    let productId = 0;
    for (const b of got.slice(2, 2 + n)) productId = (productId << 8) | b;
    return { productId };
  } finally {
    void reader.cancel().catch(() => {});
    reader.releaseLock();
    writer.releaseLock();
  }
}
