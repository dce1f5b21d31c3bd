/**
 * How big the terminal's always-on circular reception is. The ring has to
 * hold what arrives on USART1 while the console copies it out over the
 * host link: at least the bytes of half a second of line time (a reader
 * held up behind a send), and, when USART1 is faster than the link, a burst
 * grows in the ring by the difference of the rates, so the longest burst
 * the console takes whole is ring / (1 − link / line). The ring then takes
 * all the arena it can spare, leaving room for the sends' buffers.
 */

/** Arena kept free for sends (a stream's two chunks, a line) and their alignment. */
export const SEND_RESERVE_BYTES = 2048;
/** The smallest ring: a few lines of text per half. */
export const MIN_RING_BYTES = 256;
/** A reader may be held up this long (behind a send's frames, a register read). */
const READER_LATENCY_S = 0.5;
/** Of the host link's bytes, about this share is payload (framing, headers, acks). */
const LINK_PAYLOAD_SHARE = 0.8;

export interface RingPlan {
  /** Ring size in bytes (even: two halves). */
  readonly bytes: number;
  /** The longest burst at the line rate that fits without an overrun; Infinity when the link keeps up. */
  readonly longestBurst: number;
}

/** Bytes per second of a UART line at `baud` (10 bits per byte: start, 8 data, stop). */
function bytesPerSecond(baud: number): number {
  return baud / 10;
}

export function planListenRing(arenaFree: number, usartBaud: number, linkBaud: number): RingPlan {
  const line = bytesPerSecond(usartBaud);
  const link = bytesPerSecond(linkBaud) * LINK_PAYLOAD_SHARE;
  const available = evenFloor(Math.max(0, arenaFree - SEND_RESERVE_BYTES));
  const latencyNeed = 2 * line * READER_LATENCY_S;
  // Slower link than line: every byte of the arena it can spare lengthens the burst it takes whole.
  const wanted = link >= line ? Math.max(MIN_RING_BYTES, roundUpPow2(latencyNeed)) : available;
  const bytes = Math.max(2, Math.min(available, wanted));
  const longestBurst = link >= line ? Number.POSITIVE_INFINITY : Math.floor(bytes / (1 - link / line));
  return { bytes, longestBurst };
}

function evenFloor(n: number): number {
  return Math.floor(n / 8) * 8;
}

function roundUpPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}
