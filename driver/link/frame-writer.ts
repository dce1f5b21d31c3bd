/**
 * The host's side of the line: writes frames to the transport, with a 0x00
 * before a frame after the line was idle (PROTOCOL.md §1), and counts them.
 */

import type { Timers } from '../transport/timers.ts';
import type { LinkStats } from './link-types.ts';

export class FrameWriter {
  private lastSendAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly writer: WritableStreamDefaultWriter<Uint8Array>,
    private readonly timers: Timers,
    private readonly stats: LinkStats,
    private readonly idleFlushMs: number,
    /** The transport failed a write (called once per failure, never for a closed link). */
    private readonly failed: (error: unknown) => void,
  ) {}

  /** Writes a frame; resolves (never rejects) once the transport took it or failed. */
  write(frame: Uint8Array): Promise<void> {
    this.stats.framesSent++;
    const now = this.timers.now();
    let bytes = frame;
    if (now - this.lastSendAt >= this.idleFlushMs) {
      // After a quiet spell the board's receiver may hold noise: end it first.
      bytes = new Uint8Array(frame.length + 1);
      bytes.set(frame, 1);
    }
    this.lastSendAt = now;
    this.stats.bytesSent += bytes.length;
    return this.writer.write(bytes).catch((e: unknown) => this.failed(e));
  }

  releaseLock(): void {
    this.writer.releaseLock();
  }
}
