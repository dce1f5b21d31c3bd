/**
 * Validation of the HELLO reply: the link decoded its fields, this checks
 * that they make sense before anything relies on them (window, payload
 * limits, arena), then checks version and chip. Written with `zod/mini`,
 * whose functional checks let a bundler keep only what is used: the
 * browser console loads this module.
 */

import { en } from 'zod/locales';
import * as z from 'zod/mini';
import type { ChipDescription } from '../chip/types.ts';
import { type HelloInfo, Limits, PROTOCOL_VERSION } from '../protocol/index.ts';
import { InvalidHelloError, UnsupportedProtocolError, WrongChipError } from './errors.ts';

// zod/mini ships no messages of its own; the English ones read as full zod's do.
z.config(en());

const unsigned = (max: number, ...checks: z.core.$ZodCheck<number>[]) =>
  z.int().check(z.minimum(0), z.maximum(max), ...checks);
const u8 = (...checks: z.core.$ZodCheck<number>[]) => unsigned(0xff, ...checks);
const u16 = (...checks: z.core.$ZodCheck<number>[]) => unsigned(0xffff, ...checks);
const u32 = (...checks: z.core.$ZodCheck<number>[]) => unsigned(0xffff_ffff, ...checks);

export const helloSchema = z
  .object({
    protocolVersion: u8(),
    firmwareVersion: z.object({ major: u8(), minor: u8(), patch: u8() }),
    devId: u16(),
    revId: u16(),
    uid: z.instanceof(Uint8Array).check(z.refine((u) => u.length === 12, 'uid must be 12 bytes')),
    arenaBase: u32(),
    arenaSize: u32(z.minimum(1, 'the arena is empty')),
    // A MEM_WRITE must carry at least one byte, a MEM_READ reply the same.
    maxRequestPayload: u16(z.minimum(5), z.maximum(Limits.maxRequestPayload)),
    maxReplyPayload: u16(z.minimum(9), z.maximum(Limits.maxReplyPayload)),
    window: u8(z.minimum(1, 'a window of 0 would allow no request at all')),
    capabilities: u32(),
    bootEpoch: u32(),
    usart1ClockHz: u32(),
    linkBaud: u32(),
    rxBuffer: z.optional(u16(z.minimum(64, 'a receive buffer under 64 bytes holds no request'))),
    bootLinkBaud: z.optional(u32()),
    linkRates: z.array(u32(z.minimum(1))),
  })
  .check(
    z.refine(
      (h) => h.arenaBase + h.arenaSize <= 0x1_0000_0000,
      'the arena runs past the end of the address space',
    ),
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
