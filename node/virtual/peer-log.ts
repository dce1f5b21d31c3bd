/**
 * Shows what the virtual USART1 peer receives, as a hex dump with the
 * printable characters beside it, one line per 16 bytes.
 */
import { batchBytes } from './byte-batcher.ts';
import type { ServablePeer } from './servable-board.ts';

const BYTES_PER_LINE = 16;

export function formatDumpLine(bytes: Uint8Array): string {
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `${hex.padEnd(BYTES_PER_LINE * 3 - 1)}  |${text}|`;
}

/** Prints every burst the board's USART1 transmits; returns a function that stops it. */
export function logPeerBytes(peer: ServablePeer, write: (line: string) => void): () => void {
  const batch = batchBytes((chunk) => {
    for (let i = 0; i < chunk.length; i += BYTES_PER_LINE) {
      write(`usart1 → peer: ${formatDumpLine(chunk.subarray(i, i + BYTES_PER_LINE))}`);
    }
  });
  const unsubscribe = peer.onByte((byte) => batch.push(byte));
  return () => {
    unsubscribe();
    batch.flush();
  };
}
