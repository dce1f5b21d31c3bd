/**
 * The messages between the page and the board worker. Plain structured
 * clones with byte arrays transferred, rather than transferable streams,
 * because Safari cannot transfer streams; flow control is explicit: the
 * page waits for `write-done` before its next write, so the board's own
 * back-pressure (USART2 at the line rate) reaches the driver.
 */
import type { InjectedError, Usart1Wiring } from '../../../emulator/index.ts';

export type ToWorker =
  | { type: 'start'; firmware: ArrayBuffer; usart1: Usart1Wiring; maxLinkBaud?: number }
  | { type: 'write'; id: number; bytes: Uint8Array }
  | { type: 'close-port' }
  | { type: 'peer-inject'; bytes: Uint8Array }
  | { type: 'peer-error'; kind: InjectedError; byte: number }
  | { type: 'peer-clear' }
  | { type: 'wiring'; usart1: Usart1Wiring }
  | { type: 'reset' }
  /** Moves the host port to another line rate (the driver's rate negotiation). */
  | { type: 'set-baud'; id: number; baud: number };

export type FromWorker =
  /** `maxBaudRate`: the fastest link the worker keeps up with, measured at start (link-rate.ts). */
  | { type: 'ready'; description: string; maxBaudRate: number }
  | { type: 'baud-done'; id: number; error?: string }
  | { type: 'data'; bytes: Uint8Array }
  | { type: 'write-done'; id: number; error?: string }
  | { type: 'port-closed' }
  /** Bytes the board sent on USART1 to the peer, batched per slice of virtual time. */
  | { type: 'peer-bytes'; bytes: Uint8Array; timeNs: number }
  | { type: 'reset-done'; bootCount: number }
  | { type: 'halted'; reason: string }
  | { type: 'failed'; message: string };
