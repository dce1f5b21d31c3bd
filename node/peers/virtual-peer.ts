/** The virtual board's USART1 peer as a UsartPeer: it injects and records in virtual time. */
import type { SerialPeer } from '../../emulator/host/serial-peer.ts';
import {
  DEFAULT_LISTEN_TIMEOUT_MS,
  type Listening,
  type ListenOptions,
  PeerTimeoutError,
  type UsartPeer,
} from './peer.ts';

export class VirtualPeer implements UsartPeer {
  readonly kind = 'virtual';
  readonly description = 'the virtual peer on USART1';

  constructor(private readonly peer: SerialPeer) {}

  async send(bytes: Uint8Array): Promise<void> {
    // Queued on the RX wire; the characters arrive one character time apart.
    this.peer.inject(bytes);
  }

  async listen(count: number, options: ListenOptions = {}): Promise<Listening> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_LISTEN_TIMEOUT_MS;
    const bytes: number[] = [];
    const times: number[] = [];
    let settle: ((error?: Error) => void) | undefined;
    const received = new Promise<{ bytes: Uint8Array; virtualTimesNs: number[] }>((resolve, reject) => {
      settle = (error) => {
        unsubscribe();
        clearTimeout(timer);
        settle = undefined;
        if (error) reject(error);
        else resolve({ bytes: Uint8Array.from(bytes), virtualTimesNs: times });
      };
    });
    const unsubscribe = this.peer.onByte((byte, timeNs) => {
      if (bytes.length >= count) return;
      bytes.push(byte);
      times.push(timeNs);
      if (bytes.length === count) settle?.();
    });
    const timer = setTimeout(
      () => settle?.(new PeerTimeoutError(this.description, bytes.length, count, timeoutMs)),
      timeoutMs,
    );
    if (count === 0) settle?.();
    received.catch(() => {});
    return {
      received,
      cancel: async () => settle?.(new Error('listening was cancelled')),
    };
  }

  async close(): Promise<void> {}
}
