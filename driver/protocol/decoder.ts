/**
 * The streaming frame decoder: bytes in arbitrary chunks → messages.
 *
 * Bytes accumulate in one reusable buffer up to a 0x00 delimiter, and each
 * frame is COBS-decoded into a second reusable buffer, so the steady state
 * allocates only the message objects it hands out. Damage is reported as a
 * value (`CorruptFrame`, `InvalidMessage`), never thrown: on a serial line
 * it is an expected event, and the decoder resynchronises at the next
 * delimiter by construction, so garbage costs at most the frame it lands in.
 */

import { cobsDecode, cobsMaxEncodedLength } from './cobs.ts';
import { crc16 } from './crc16.ts';
import { type CorruptFrame, type Decoded, Limits } from './messages.ts';
import { parseBody } from './parse.ts';

export interface FrameDecoderOptions {
  /**
   * Largest payload accepted. Defaults to the protocol's largest (a
   * request's, 1024), which also covers replies and events.
   */
  maxPayload?: number;
}

export interface FrameDecoderStats {
  frames: number;
  corrupt: number;
  invalid: number;
  /** Empty frames (two delimiters in a row), which are not errors. */
  empty: number;
}

export class FrameDecoder {
  readonly maxBody: number;
  readonly maxEncoded: number;
  readonly stats: FrameDecoderStats = { frames: 0, corrupt: 0, invalid: 0, empty: 0 };

  private readonly wire: Uint8Array;
  private readonly body: Uint8Array;
  private length = 0;
  /** Set once the current frame outgrew `maxEncoded`; it is skipped up to the next 0x00. */
  private overflowed = false;
  private overflowLength = 0;

  constructor(options: FrameDecoderOptions = {}) {
    const maxPayload = options.maxPayload ?? Limits.maxRequestPayload;
    // A reply's payload follows the event mark.
    this.maxBody = Limits.headerLength + Limits.markLength + maxPayload + Limits.crcLength;
    this.maxEncoded = cobsMaxEncodedLength(this.maxBody);
    this.wire = new Uint8Array(this.maxEncoded);
    this.body = new Uint8Array(this.maxEncoded);
  }

  /** Feeds a chunk; `emit` is called once per completed frame, in order. */
  push(chunk: Uint8Array, emit: (decoded: Decoded) => void): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      const zero = chunk.indexOf(0, i);
      const segmentEnd = zero === -1 ? n : zero;
      this.append(chunk, i, segmentEnd);
      if (zero === -1) return;
      this.endFrame(emit);
      i = zero + 1;
    }
  }

  /** Bytes of a frame begun and not yet ended by its delimiter. */
  get pendingBytes(): number {
    return this.overflowed ? this.overflowLength : this.length;
  }

  /**
   * Gives up on the frame begun: its delimiter was lost, or the line went
   * quiet in its middle. Emits it as corrupt ('cut'); nothing when no frame
   * was begun.
   */
  abandonPartial(emit: (decoded: Decoded) => void): void {
    const length = this.pendingBytes;
    if (length === 0) return;
    this.reset();
    this.corrupt(emit, 'cut', length);
  }

  /** Forgets a partial frame, e.g. after the transport reopened. */
  reset(): void {
    this.length = 0;
    this.overflowed = false;
    this.overflowLength = 0;
  }

  private append(chunk: Uint8Array, start: number, end: number): void {
    const count = end - start;
    if (count === 0) return;
    if (this.overflowed) {
      this.overflowLength += count;
      return;
    }
    if (this.length + count > this.maxEncoded) {
      this.overflowed = true;
      this.overflowLength = this.length + count;
      this.length = 0;
      return;
    }
    this.wire.set(chunk.subarray(start, end), this.length);
    this.length += count;
  }

  private endFrame(emit: (decoded: Decoded) => void): void {
    if (this.overflowed) {
      const length = this.overflowLength;
      this.reset();
      this.corrupt(emit, 'too-large', length);
      return;
    }
    const length = this.length;
    this.length = 0;
    if (length === 0) {
      this.stats.empty++;
      return;
    }
    const bodyLength = cobsDecode(this.wire, 0, length, this.body, 0);
    const damage = this.check(bodyLength);
    if (damage !== null) {
      const seqHint = damage === 'crc' ? this.body[2]! | (this.body[3]! << 8) : undefined;
      this.corrupt(emit, damage, length, seqHint);
      return;
    }
    const payloadEnd = bodyLength - Limits.crcLength;
    const message = parseBody(this.body, payloadEnd);
    if (message.kind === 'invalid') this.stats.invalid++;
    else this.stats.frames++;
    emit(message);
  }

  /** What is wrong with the decoded body, or null when its CRC matches. */
  private check(bodyLength: number): CorruptFrame['reason'] | null {
    if (bodyLength < 0) return 'cobs';
    if (bodyLength < Limits.minBody) return 'short';
    if (bodyLength > this.maxBody) return 'too-large';
    const payloadEnd = bodyLength - Limits.crcLength;
    const sent = this.body[payloadEnd]! | (this.body[payloadEnd + 1]! << 8);
    return crc16(this.body, 0, payloadEnd) === sent ? null : 'crc';
  }

  private corrupt(
    emit: (decoded: Decoded) => void,
    reason: CorruptFrame['reason'],
    length: number,
    seqHint?: number,
  ): void {
    this.stats.corrupt++;
    emit(
      seqHint === undefined
        ? { kind: 'corrupt', reason, length }
        : { kind: 'corrupt', reason, length, seqHint },
    );
  }
}
