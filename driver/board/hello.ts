/**
 * Validation of the HELLO reply: the link decoded its fields, this checks
 * that they make sense before anything relies on them (window, payload
 * limits, arena), then checks version and chip.
 */

import { z } from 'zod';
import type { ChipDescription } from '../chip/types.ts';
import { type HelloInfo, Limits, PROTOCOL_VERSION } from '../protocol/index.ts';
import { InvalidHelloError, UnsupportedProtocolError, WrongChipError } from './errors.ts';

const u8 = z.number().int().min(0).max(0xff);
const u16 = z.number().int().min(0).max(0xffff);
const u32 = z.number().int().min(0).max(0xffff_ffff);

export const helloSchema = z
  .object({
    protocolVersion: u8,
    firmwareVersion: z.object({ major: u8, minor: u8, patch: u8 }),
    devId: u16,
    revId: u16,
    uid: z.instanceof(Uint8Array).refine((u) => u.length === 12, 'uid must be 12 bytes'),
    arenaBase: u32,
    arenaSize: u32.min(1, 'the arena is empty'),
    // A MEM_WRITE must carry at least one byte, a MEM_READ reply the same.
    maxRequestPayload: u16.min(5).max(Limits.maxRequestPayload),
    maxReplyPayload: u16.min(9).max(Limits.maxReplyPayload),
    window: u8.min(1, 'a window of 0 would allow no request at all'),
    capabilities: u32,
    bootEpoch: u32,
    usart1ClockHz: u32,
    linkBaud: u32,
    rxBuffer: u16.min(64, 'a receive buffer under 64 bytes holds no request').optional(),
    bootLinkBaud: u32.optional(),
    linkRates: z.array(u32.min(1)),
  })
  .refine(
    (h) => h.arenaBase + h.arenaSize <= 0x1_0000_0000,
    'the arena runs past the end of the address space',
  );

/** Checks a HELLO reply for this driver and chip; returns it unchanged or throws a typed error. */
export function validateHello(hello: HelloInfo, chip: ChipDescription): HelloInfo {
  if (hello.protocolVersion !== PROTOCOL_VERSION) throw new UnsupportedProtocolError(hello.protocolVersion);
  const parsed = helloSchema.safeParse(hello);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'reply'}: ${i.message}`)
      .join('; ');
    throw new InvalidHelloError(problems);
  }
  if (hello.devId !== chip.devId) throw new WrongChipError(hello.devId, chip.devId, chip.name);
  return hello;
}
