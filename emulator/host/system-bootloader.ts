/**
 * The first bytes of the STM32's system bootloader (ST AN3155, "USART
 * protocol used in the STM32 bootloader"; AN2606 for the STM32G07x: USART2
 * on PA2/PA3, the ST-LINK's virtual COM port), as the host port sees them
 * when the chip starts from system memory instead of the bridge firmware:
 * after the first programming of an erased STM32G0, until a power cycle
 * (the empty check, RM0444 §2.5).
 *
 * Modelled: 8E1 framing (a host at 8N1 gets bytes with an even number of
 * ones garbled, as a real port reports a framing error: read as 0x00, and
 * its own such bytes are ignored); autobaud on 0x7F answered by ACK 0x79
 * (a 0x7F once synchronised is a command byte and gets NACK 0x1F); GET
 * VERSION (0x01 0xFE) and GET ID (0x02 0xFD, product ID 0x460). Every
 * other command is answered NACK: this is what a host needs to recognise
 * the bootloader, not a flash programmer.
 */
import type { VirtualClock } from '../core/virtual-clock.ts';
import type { HostPort } from './host-port.ts';

const ACK = 0x79;
const NACK = 0x1f;
const SYNC = 0x7f;
/** Bootloader protocol version 3.1 (AN3155); the G07x's bootloader is v3.x (AN2606 gives 0xB3 for the ID). */
const VERSION = 0x31;

export const STM32G071_PRODUCT_ID = 0x460;

const evenOnes = (b: number) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n % 2 === 0;
};

export class SystemBootloaderPort implements HostPort {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info = {
    kind: 'virtual-board',
    description: 'virtual Nucleo-G071RB in its system bootloader, USART2 (ST-LINK VCP)',
  } as const;
  private baud = 115_200;
  private parity: 'none' | 'even';
  private synced = false;
  private command: number | undefined;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private closed = false;

  constructor(
    private readonly clock: VirtualClock,
    private readonly wake: () => void,
    private readonly onClose: (port: SystemBootloaderPort) => void,
    options: { baudRate?: number; parity?: 'none' | 'even' } = {},
  ) {
    this.baud = options.baudRate ?? 115_200;
    this.parity = options.parity ?? 'none';
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => {
        this.controller = undefined;
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        if (this.closed) throw new Error('the port is closed');
        this.receive(chunk);
      },
    });
  }

  get baudRate(): number {
    return this.baud;
  }

  async setBaudRate(baud: number): Promise<void> {
    this.baud = baud;
  }

  /** USART2 does not run: nothing for the board to hand over. */
  transmitted(_byte: number): void {}
  flush(): void {}

  /** The host side's parity; the bootloader speaks 8E1. */
  async setParity(parity: 'none' | 'even'): Promise<void> {
    this.parity = parity;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.controller?.close();
    } catch {
      // already closed or cancelled by the reader
    }
    this.onClose(this);
  }

  private charNs(): number {
    return (11 * 1e9) / this.baud;
  }

  private receive(chunk: Uint8Array): void {
    for (const b of chunk) {
      // Sent at 8N1, the stop bit lands where the bootloader samples parity:
      // right only when even parity would be 1 (an odd number of ones).
      if (this.parity === 'none' && evenOnes(b)) continue;
      this.byte(b);
    }
  }

  private byte(b: number): void {
    if (!this.synced) {
      if (b === SYNC) {
        this.synced = true;
        this.send([ACK]);
      }
      return;
    }
    if (this.command === undefined) {
      this.command = b;
      return;
    }
    const cmd = this.command;
    this.command = undefined;
    if ((cmd ^ b) !== 0xff) {
      this.send([NACK]);
      return;
    }
    if (cmd === 0x01) this.send([ACK, VERSION, 0x00, 0x00, ACK]);
    else if (cmd === 0x02)
      this.send([ACK, 0x01, STM32G071_PRODUCT_ID >> 8, STM32G071_PRODUCT_ID & 0xff, ACK]);
    else this.send([NACK]);
  }

  private send(bytes: number[]): void {
    // A host at 8N1 samples the parity bit as its stop bit: a framing error, read as 0x00, when it is 0.
    const out = bytes.map((b) => (this.parity === 'none' && evenOnes(b) ? 0x00 : b));
    this.clock.schedule(out.length * this.charNs() + 20_000, () => {
      if (!this.closed) this.controller?.enqueue(Uint8Array.from(out));
    });
    this.wake();
  }
}
