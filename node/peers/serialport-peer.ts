/**
 * A USB-serial adapter wired to USART1 (adapter RX to PC4/D1, adapter TX to
 * PC5/D0, grounds joined) as the board's peer, through serialport.
 */
import type { SerialPort } from 'serialport';
import { loadSerialport } from '../transport/load-serialport.ts';
import {
  DEFAULT_LISTEN_TIMEOUT_MS,
  type Listening,
  type ListenOptions,
  PeerTimeoutError,
  type UsartPeer,
} from './peer.ts';

interface Waiter {
  readonly from: number;
  readonly count: number;
  resolve(bytes: Uint8Array): void;
}

export class SerialportPeer implements UsartPeer {
  readonly kind = 'serial-port';
  readonly description: string;
  /** Everything the adapter has received since it was opened. */
  private heard: number[] = [];
  private readonly waiters = new Set<Waiter>();

  private constructor(private readonly port: SerialPort) {
    this.description = `the serial port ${port.path}`;
    port.on('data', (chunk: Buffer) => {
      for (const b of chunk) this.heard.push(b);
      for (const w of [...this.waiters]) {
        if (this.heard.length >= w.from + w.count) {
          this.waiters.delete(w);
          w.resolve(Uint8Array.from(this.heard.slice(w.from, w.from + w.count)));
        }
      }
    });
  }

  /** Opens `path` at 8N1, `baudRate` (the rate USART1 is set to). */
  static async open(path: string, baudRate: number): Promise<SerialportPeer> {
    const { SerialPort } = await loadSerialport();
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((error) =>
        error
          ? reject(new Error(`cannot open the peer port ${path}: ${error.message}`, { cause: error }))
          : resolve(),
      ),
    );
    // Whatever sat in the adapter's buffers belongs to nobody's test.
    await new Promise<void>((resolve) => port.flush(() => resolve()));
    return new SerialportPeer(port);
  }

  async send(bytes: Uint8Array): Promise<void> {
    if (!this.port.isOpen) throw new Error(`${this.description} is closed`);
    await new Promise<void>((resolve, reject) => {
      this.port.write(Buffer.from(bytes), (error) => (error ? reject(error) : undefined));
      this.port.drain((error) => (error ? reject(error) : resolve()));
    });
  }

  async listen(count: number, options: ListenOptions = {}): Promise<Listening> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_LISTEN_TIMEOUT_MS;
    const from = this.heard.length;
    let waiter: Waiter | undefined;
    let fail: ((error: Error) => void) | undefined;
    const received = new Promise<{ bytes: Uint8Array }>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (waiter) this.waiters.delete(waiter);
        reject(new PeerTimeoutError(this.description, this.heard.length - from, count, timeoutMs));
      }, timeoutMs);
      fail = (error) => {
        clearTimeout(timer);
        if (waiter) this.waiters.delete(waiter);
        reject(error);
      };
      waiter = {
        from,
        count,
        resolve: (bytes) => {
          clearTimeout(timer);
          resolve({ bytes });
        },
      };
      this.waiters.add(waiter);
    });
    received.catch(() => {});
    return { received, cancel: async () => fail?.(new Error('listening was cancelled')) };
  }

  async close(): Promise<void> {
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
