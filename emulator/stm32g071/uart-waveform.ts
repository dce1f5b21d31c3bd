/**
 * A serial line between two ends that disagree on the baud rate: the
 * transmitter's 8N1 waveform at its bit time, sampled as a USART receiver
 * with 16× oversampling samples it at its own (RM0444 §33.5.5 "Start bit
 * detection", §33.5.7 "Selecting the proper oversampling method": each bit
 * is decided by a majority of the 8th, 9th and 10th of its 16 samples, NE
 * when they disagree; a stop bit sampled low is a framing error).
 *
 * So the garbage is the garbage silicon would produce: a 0x00 at a slow
 * rate seen by a fast receiver is a 0x00 with a framing error (the line is
 * still low at the stop bit), bytes at a fast rate seen by a slow receiver
 * merge into fewer, wrong ones, and rates within the receiver's tolerance
 * (RM0444 §33.5.8 "Tolerance of the USART receiver to clock deviation",
 * 3.75 % for 8N1 at 16× oversampling) come through unharmed.
 */

export interface SampledCharacter {
  /** The 8 data bits as sampled. */
  readonly byte: number;
  /** The stop bit was sampled low (USART_ISR.FE). */
  readonly framingError: boolean;
  /** The three samples of some bit disagreed (USART_ISR.NE). */
  readonly noise: boolean;
  /** When the receiver had the character (its stop bit sampled), ns after the first start bit began. */
  readonly atNs: number;
}

const BITS_PER_CHARACTER = 10; // start, 8 data, stop
/**
 * The samples that decide a bit, in sixteenths of the receiver's bit time
 * from the falling edge: the 8th, 9th and 10th samples, the edge being seen
 * up to one sample late (the worst case, where RM0444's tolerance figures
 * come from: the model takes a sender up to 3.5 % fast or 6 % slow, 8N1).
 */
const DECIDING_SAMPLES = [8, 9, 10] as const;

/**
 * Receives `bytes`, sent back to back as 8N1 characters of `txBitNs` each,
 * with a receiver whose bit time is `rxBitNs`. The line idles high before
 * and after.
 */
export function sampleLine(bytes: ArrayLike<number>, txBitNs: number, rxBitNs: number): SampledCharacter[] {
  const totalBits = bytes.length * BITS_PER_CHARACTER;
  /** The level of the transmitter's bit `n` (counted from the first start bit); high outside the run. */
  const bitLevel = (n: number): number => {
    if (n < 0 || n >= totalBits) return 1;
    const position = n % BITS_PER_CHARACTER;
    if (position === 0) return 0;
    if (position === BITS_PER_CHARACTER - 1) return 1;
    return (bytes[(n / BITS_PER_CHARACTER) | 0]! >> (position - 1)) & 1;
  };
  const levelAt = (tNs: number): number => bitLevel(Math.floor(tNs / txBitNs));

  const received: SampledCharacter[] = [];
  let edgeBit = 0; // the transmitter bit whose leading edge is the next falling edge to look from
  while (edgeBit < totalBits) {
    // The next falling edge: a low bit after a high one.
    while (edgeBit < totalBits && !(bitLevel(edgeBit) === 0 && bitLevel(edgeBit - 1) === 1)) edgeBit++;
    if (edgeBit >= totalBits) break;
    const start = edgeBit * txBitNs;
    let byte = 0;
    let noise = false;
    let falseStart = false;
    let stopLow = false;
    for (let bit = 0; bit < BITS_PER_CHARACTER; bit++) {
      let ones = 0;
      for (const s of DECIDING_SAMPLES) ones += levelAt(start + (bit + s / 16) * rxBitNs);
      const level = ones >= 2 ? 1 : 0;
      if (ones === 1 || ones === 2) noise = true;
      if (bit === 0 && level === 1) {
        // The start bit is not low at its centre: not a start (RM0444 §33.5.5).
        falseStart = true;
        break;
      }
      if (bit >= 1 && bit <= 8) byte |= level << (bit - 1);
      if (bit === BITS_PER_CHARACTER - 1) stopLow = level === 0;
    }
    const sampledUntil = start + (falseStart ? 1 : BITS_PER_CHARACTER - 6 / 16) * rxBitNs;
    if (!falseStart) {
      received.push({ byte, framingError: stopLow, noise, atNs: sampledUntil });
    }
    // The receiver looks for the next start bit once this character is sampled.
    edgeBit = Math.max(edgeBit + 1, Math.ceil(sampledUntil / txBitNs));
  }
  return received;
}

/** Whether two bit times are the same rate (a line between them needs no sampling model). */
export function sameRate(aBitNs: number, bBitNs: number): boolean {
  return Math.abs(aBitNs - bBitNs) <= Math.max(aBitNs, bBitNs) * 1e-6;
}

/** Whether the receiver got something other than the bytes sent: a rate mismatch beyond its tolerance. */
export function garbled(sent: ArrayLike<number>, received: readonly SampledCharacter[]): boolean {
  if (received.length !== sent.length) return true;
  return received.some((c, i) => c.framingError || c.noise || c.byte !== sent[i]);
}

/** What a line between two rates beyond the receiver's tolerance does, for a report. */
export function mismatchText(
  sender: string,
  senderBitNs: number,
  receiver: string,
  receiverBitNs: number,
): string {
  const baud = (bitNs: number) => Math.round(1e9 / bitNs);
  return `${sender} sends at ${baud(senderBitNs)} baud and ${receiver} receives at ${baud(receiverBitNs)} baud, beyond the receiver's tolerance to clock deviation (RM0444 §33.5.8): characters arrive as framing errors and garbage`;
}
