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
 * merge into fewer, wrong ones.
 *
 * The receiver's tolerance follows RM0444 §33.5.8 ("Tolerance of the USART
 * receiver to clock deviation"): the total deviation between the two ends,
 * clock error included, must stay under the figure its tables give for the
 * receiver's configuration (8N1, 16× oversampling, ONEBIT = 0: 3.75 % when
 * BRR[3:0] = 0, 3.33 % otherwise). Within it every character arrives as
 * sent; beyond it nothing is promised, and the model flags every character
 * (NE at least, whatever the ideal sampler decoded), so a line between such
 * rates never passes for a working one.
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
 * up to one sample late (the worst case).
 */
const DECIDING_SAMPLES = [8, 9, 10] as const;

/** How a USART receiver samples, for its tolerance (RM0444 §33.5.8, tables of receiver tolerance). */
export interface ReceiverSampling {
  /** CR1.OVER8: 8× oversampling instead of 16×. */
  readonly over8?: boolean;
  /** BRR[3:0] is not 0 (a fractional divider): the tolerance is lower. */
  readonly fractionalBrr?: boolean;
  /** Data bits, parity included: 7, 8 or 9. */
  readonly wordBits?: number;
  /** CR3.ONEBIT: one sample per bit instead of three. */
  readonly oneBit?: boolean;
}

/**
 * RM0444 §33.5.8, "Tolerance of the USART receiver when BRR[3:0] = 0000" and
 * "... is different from 0000", in %: per word length (M bits), the columns
 * [16×, ONEBIT = 0; 16×, ONEBIT = 1; 8×, ONEBIT = 0; 8×, ONEBIT = 1].
 */
const TOLERANCE_INTEGER_BRR: Readonly<Record<7 | 8 | 9, readonly number[]>> = {
  8: [3.75, 4.375, 2.5, 3.75],
  9: [3.41, 3.97, 2.27, 3.41],
  7: [4.16, 4.86, 2.77, 4.16],
};
const TOLERANCE_FRACTIONAL_BRR: Readonly<Record<7 | 8 | 9, readonly number[]>> = {
  8: [3.33, 3.88, 2, 3],
  9: [3.03, 3.53, 1.82, 2.73],
  7: [3.7, 4.31, 2.22, 3.33],
};

/** The receiver's tolerance to clock deviation (RM0444 §33.5.8), as a fraction (0.0375 is 3.75 %). */
export function receiverTolerance(sampling: ReceiverSampling = {}): number {
  const word = sampling.wordBits === 7 || sampling.wordBits === 9 ? sampling.wordBits : 8;
  const table = sampling.fractionalBrr ? TOLERANCE_FRACTIONAL_BRR : TOLERANCE_INTEGER_BRR;
  return table[word][(sampling.over8 ? 2 : 0) + (sampling.oneBit ? 1 : 0)]! / 100;
}

/** The deviation between a sender's and a receiver's bit times, as a fraction of the receiver's. */
export function rateDeviation(txBitNs: number, rxBitNs: number): number {
  return Math.abs(txBitNs - rxBitNs) / rxBitNs;
}

/**
 * Receives `bytes`, sent back to back as 8N1 characters of `txBitNs` each,
 * with a receiver whose bit time is `rxBitNs` and that samples as
 * `sampling` says (default: 16×, integer divider, three samples a bit). The
 * line idles high before and after.
 */
export function sampleLine(
  bytes: ArrayLike<number>,
  txBitNs: number,
  rxBitNs: number,
  sampling: ReceiverSampling = {},
): SampledCharacter[] {
  const tolerance = receiverTolerance(sampling);
  const deviation = rateDeviation(txBitNs, rxBitNs);
  const stopSampledNs = (BITS_PER_CHARACTER - 6 / 16) * rxBitNs;
  if (deviation <= tolerance) {
    // Within tolerance every character arrives as sent, when its stop bit is sampled.
    return Array.from(bytes, (byte, i) => ({
      byte: byte & 0xff,
      framingError: false,
      noise: false,
      atNs: i * BITS_PER_CHARACTER * txBitNs + stopSampledNs,
    }));
  }
  // Beyond it: what the ideal sampler makes of the waveform, and never clean.
  return sampleWaveform(bytes, txBitNs, rxBitNs).map((c) =>
    c.framingError || c.noise ? c : { ...c, noise: true },
  );
}

function sampleWaveform(bytes: ArrayLike<number>, txBitNs: number, rxBitNs: number): SampledCharacter[] {
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
