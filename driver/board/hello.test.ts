/**
 * The HELLO reply checked before anything relies on it: each field's
 * range, the arena inside the address space, the protocol version and the
 * chip, with every problem named by its field.
 */
import { describe, expect, it } from 'vitest';
import { STM32G071 } from '../chip/stm32g071.ts';
import { type HelloInfo, PROTOCOL_VERSION } from '../protocol/index.ts';
import { InvalidHelloError, UnsupportedProtocolError, WrongChipError } from './errors.ts';
import { validateHello } from './hello.ts';

const good: HelloInfo = {
  protocolVersion: PROTOCOL_VERSION,
  firmwareVersion: { major: 2, minor: 4, patch: 0 },
  devId: 0x460,
  revId: 0x2000,
  uid: Uint8Array.from({ length: 12 }, (_, i) => i),
  arenaBase: 0x2000_4000,
  arenaSize: 0x4000,
  maxRequestPayload: 1024,
  maxReplyPayload: 264,
  window: 4,
  capabilities: 0b1_1111,
  bootEpoch: 7,
  usart1ClockHz: 64_000_000,
  linkBaud: 115_200,
  rxBuffer: 1100,
  bootLinkBaud: 115_200,
  linkRates: [115_200, 2_000_000],
};

function problems(hello: Partial<HelloInfo>): string {
  try {
    validateHello({ ...good, ...hello }, STM32G071);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidHelloError);
    return (e as InvalidHelloError).problems;
  }
  return 'accepted';
}

describe('validateHello', () => {
  it('returns a sensible HELLO unchanged', () => {
    const hello = { ...good };
    expect(validateHello(hello, STM32G071)).toBe(hello);
  });

  it('names each field out of range, all of them at once', () => {
    expect(problems({ uid: new Uint8Array(11) })).toBe('uid: uid must be 12 bytes');
    expect(problems({ firmwareVersion: { major: 256, minor: 0, patch: 0 } })).toBe(
      'firmwareVersion.major: Too big: expected number to be <=255',
    );
    expect(problems({ rxBuffer: 63 })).toBe('rxBuffer: a receive buffer under 64 bytes holds no request');
    expect(problems({ rxBuffer: 64 })).toBe('accepted');
    expect(problems({ window: 0, arenaSize: 0 })).toBe(
      'arenaSize: the arena is empty; window: a window of 0 would allow no request at all',
    );
  });

  it('the arena must end inside the 32-bit address space: ending at its very end is fine', () => {
    expect(problems({ arenaBase: 0xffff_f000, arenaSize: 0x1000 })).toBe('accepted');
    expect(problems({ arenaBase: 0xffff_f000, arenaSize: 0x1001 })).toBe(
      'reply: the arena runs past the end of the address space',
    );
    expect(problems({ arenaBase: 0xffff_f000, arenaSize: 0x2_0000 })).toBe(
      'reply: the arena runs past the end of the address space',
    );
  });

  it('another protocol version is told before anything else', () => {
    expect(() => validateHello({ ...good, protocolVersion: 9, window: 0 }, STM32G071)).toThrow(
      UnsupportedProtocolError,
    );
  });

  it('another chip is told once the reply makes sense', () => {
    expect(() => validateHello({ ...good, devId: 0x413 }, STM32G071)).toThrow(WrongChipError);
    expect(() => validateHello({ ...good, devId: 0x413, window: 0 }, STM32G071)).toThrow(InvalidHelloError);
  });
});
