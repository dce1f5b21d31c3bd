import { describe, expect, it } from 'vitest';
import {
  allRegisters,
  decodeRegister,
  fieldMask,
  formatRegister,
  getField,
  registerAt,
  setField,
} from './decode.ts';
import { privateChipCopy } from './frozen.ts';
import { STM32G071 } from './stm32g071.ts';

describe('STM32G071 description', () => {
  const ch1 = STM32G071.dma.channels[0]!;

  it('has the addresses of PROTOCOL.md §6 and the DMAMUX request ids', () => {
    expect(STM32G071.dma.isr.address).toBe(0x4002_0000);
    expect(STM32G071.dma.ifcr.address).toBe(0x4002_0004);
    expect([ch1.ccr.address, ch1.cndtr.address, ch1.cpar.address, ch1.cmar.address]).toEqual([
      0x4002_0008, 0x4002_000c, 0x4002_0010, 0x4002_0014,
    ]);
    const ch2 = STM32G071.dma.channels[1]!;
    expect([ch2.ccr.address, ch2.cmar.address, ch2.mux.address]).toEqual([
      0x4002_001c, 0x4002_0028, 0x4002_0804,
    ]);
    expect(ch1.mux.address).toBe(0x4002_0800);
    expect(STM32G071.usart1.tdr.address).toBe(0x4001_3828);
    expect(STM32G071.usart1.rdr.address).toBe(0x4001_3824);
    expect(STM32G071.usart1.presc.address).toBe(0x4001_382c);
    expect(STM32G071.usart1.dmaRequest).toEqual({ rx: 50, tx: 51 });
    expect(STM32G071.dmamuxRequests.USART1_TX).toBe(51);
    expect(STM32G071.devId).toBe(0x460);
  });

  it('has no overlapping fields in any register', () => {
    for (const r of allRegisters(STM32G071)) {
      let used = 0;
      for (const f of r.fields) {
        const m = f.width >= 32 ? 0xffff_ffff : ((1 << f.width) - 1) << f.offset;
        expect(used & m, `${r.name}.${f.name}`).toBe(0);
        used |= m;
        expect(f.offset + f.width).toBeLessThanOrEqual(32);
      }
    }
  });

  it('decodes a register into named fields', () => {
    const ccr = 0b0000_0101_1001_0011; // EN TCIE DIR MINC PSIZE=1 MSIZE=1
    const fields = Object.fromEntries(decodeRegister(ch1.ccr, ccr).map((f) => [f.name, f]));
    expect(fields.EN!.value).toBe(1);
    expect(fields.TCIE!.value).toBe(1);
    expect(fields.DIR!.meaning).toBe('read from memory');
    expect(fields.MINC!.value).toBe(1);
    expect(fields.PSIZE!.meaning).toBe('16 bits');
    expect(fields.MSIZE!.value).toBe(1);
    expect(formatRegister(ch1.ccr, ccr)).toBe(
      'DMA1_CCR1 = 0x00000593 (EN=1 TCIE=1 DIR=1 MINC=1 PSIZE=1 MSIZE=1)',
    );
    expect(getField(STM32G071.usart1.isr, 'TXE', 0xc0)).toBe(1);
  });

  it('sets fields and refuses values that do not fit', () => {
    expect(setField(ch1.ccr, 'PL', 0, 3)).toBe(0x3000);
    expect(fieldMask(ch1.ccr, 'MSIZE')).toBe(0xc00);
    expect(() => setField(ch1.ccr, 'PL', 0, 4)).toThrow(RangeError);
    expect(() => fieldMask(ch1.ccr, 'NOPE')).toThrow(/has no field NOPE/);
    expect(registerAt(STM32G071, 0x4001_381c)?.name).toBe('USART1_ISR');
  });
});

describe('chip descriptions the driver decides by', () => {
  it('the built-in STM32G071 is frozen all the way down', () => {
    const ccr = STM32G071.dma.channels[0]!.ccr;
    expect(Object.isFrozen(STM32G071)).toBe(true);
    expect(Object.isFrozen(STM32G071.dma.channels)).toBe(true);
    expect(Object.isFrozen(ccr.fields[0])).toBe(true);
    expect(() => {
      (ccr as { address: number }).address = 0;
    }).toThrow(TypeError);
    expect(ccr.address).toBe(0x4002_0008);
    expect(privateChipCopy(STM32G071)).toBe(STM32G071);
  });

  it("a caller's description is copied once and frozen: changing or re-reading the caller's object changes nothing", () => {
    const mine = structuredClone(STM32G071) as {
      -readonly [K in keyof typeof STM32G071]: (typeof STM32G071)[K];
    };
    let reads = 0;
    Object.defineProperty(mine, 'devId', {
      enumerable: true,
      get: () => (++reads === 1 ? 0x460 : 0x999),
    });
    const copy = privateChipCopy(mine);
    expect(copy).not.toBe(mine);
    expect(copy.devId).toBe(0x460);
    expect(copy.devId).toBe(0x460);
    (mine.dma.channels[0]!.ccr as { address: number }).address = 0x4001_380c;
    expect(copy.dma.channels[0]!.ccr.address).toBe(0x4002_0008);
    expect(Object.isFrozen(copy.dma.channels[0]!.ccr.fields)).toBe(true);
  });

  it('a description that is not plain data is refused with a TypeError', () => {
    const withFunction = { ...STM32G071, name: () => 'STM32G071' } as unknown as typeof STM32G071;
    expect(() => privateChipCopy(withFunction)).toThrow(/plain data/);
  });
});
