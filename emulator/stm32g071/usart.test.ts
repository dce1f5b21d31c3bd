import { describe, expect, it } from 'vitest';
import { RecordingLine, TestClock } from './test-support.ts';
import {
  CR1_CMIE,
  CR1_IDLEIE,
  CR1_M0,
  CR1_M1,
  CR1_OVER8,
  CR1_PCE,
  CR1_RE,
  CR1_RXNEIE,
  CR1_TCIE,
  CR1_TE,
  CR1_TXEIE,
  CR1_UE,
  CR3_DDRE,
  CR3_DMAR,
  CR3_DMAT,
  CR3_EIE,
  CR3_OVRDIS,
  ISR_BUSY,
  ISR_CMF,
  ISR_FE,
  ISR_IDLE,
  ISR_NE,
  ISR_ORE,
  ISR_PE,
  ISR_REACK,
  ISR_RXNE,
  ISR_TC,
  ISR_TEACK,
  ISR_TXE,
  USART,
  Usart,
} from './usart.ts';

/** 115200 baud from a 64 MHz kernel clock: BRR 556, one 8N1 frame = 10 × 556 / 64 MHz. */
const FRAME_NS = (10 * 556 * 1e9) / 64e6;

function setup(cr1Extra = 0, cr3 = 0) {
  const clock = new TestClock();
  const irq = new RecordingLine();
  const txReq = new RecordingLine();
  const rxReq = new RecordingLine();
  const u = new Usart({ name: 'USART1', clock, irq, txRequest: txReq, rxRequest: rxReq, kernelHz: 64e6 });
  const sent: { byte: number; timeNs: number }[] = [];
  u.onTransmit = (byte, timeNs) => sent.push({ byte, timeNs });
  u.write(USART.BRR, 556, 4);
  u.write(USART.CR3, cr3, 4);
  u.write(USART.CR1, CR1_UE | CR1_TE | CR1_RE | cr1Extra, 4);
  const isr = () => u.read(USART.ISR, 4);
  return { clock, irq, txReq, rxReq, u, sent, isr };
}

describe('USART timing', () => {
  it('computes 86.875 µs per 8N1 frame at 115200 from 64 MHz', () => {
    const { u } = setup();
    expect(u.frameNs()).toBe(86_875);
    expect(FRAME_NS).toBe(86_875);
  });

  it('sends an idle frame after TE, then the byte, finishing one frame later', () => {
    const { u, clock, sent, isr } = setup();
    expect(isr() & ISR_TEACK).toBeTruthy();
    u.write(USART.TDR, 0x41, 4);
    // TDR waits while the idle preamble shifts out.
    expect(isr() & ISR_TXE).toBe(0);
    clock.advanceTo(FRAME_NS);
    expect(isr() & ISR_TXE).toBeTruthy();
    expect(isr() & ISR_TC).toBe(0);
    clock.advanceTo(2 * FRAME_NS - 1);
    expect(sent).toEqual([]);
    clock.advanceTo(2 * FRAME_NS);
    expect(sent).toEqual([{ byte: 0x41, timeNs: 2 * FRAME_NS }]);
    expect(isr() & ISR_TC).toBeTruthy();
  });

  it('counts word length, parity-in-word and stop bits', () => {
    const { u } = setup();
    u.write(USART.CR1, 0, 4);
    u.write(USART.CR1, CR1_M0 | CR1_PCE, 4); // 9-bit word including parity
    expect(u.frameNs()).toBe((11 * 556 * 1e9) / 64e6);
    u.write(USART.CR1, CR1_M1, 4); // 7-bit word
    u.write(USART.CR2, 2 << 12, 4); // 2 stop bits
    expect(u.frameNs()).toBe((10 * 556 * 1e9) / 64e6);
    u.write(USART.CR2, 3 << 12, 4); // 1.5 stop bits
    expect(u.frameNs()).toBe((9.5 * 556 * 1e9) / 64e6);
  });

  it('handles OVER8 = 1 and PRESC', () => {
    const { u } = setup();
    u.write(USART.CR1, 0, 4);
    // USARTDIV = 2 × 64 MHz / 115200 ≈ 1111 → BRR = 0x450 | (0x7 >> 1); a bit is 0x45·8 + 3 periods.
    u.write(USART.CR1, CR1_OVER8, 4);
    u.write(USART.BRR, 0x453, 4);
    expect(u.frameNs()).toBe((10 * (0x45 * 8 + 3) * 1e9) / 64e6);
    u.write(USART.CR1, 0, 4);
    u.write(USART.BRR, 556, 4);
    u.write(USART.PRESC, 3, 4); // /6
    expect(u.frameNs()).toBe((10 * 556 * 6 * 1e9) / 64e6);
  });

  it('runs back-to-back bytes at the line rate with TXE/TC in sequence', () => {
    const { u, clock, sent, isr } = setup();
    clock.advanceTo(FRAME_NS); // preamble done
    u.write(USART.TDR, 1, 4);
    expect(isr() & ISR_TXE).toBeTruthy(); // moved to the shift register at once
    expect(isr() & ISR_TC).toBe(0);
    u.write(USART.TDR, 2, 4);
    expect(isr() & ISR_TXE).toBe(0);
    clock.advanceTo(2 * FRAME_NS);
    expect(isr() & ISR_TXE).toBeTruthy();
    expect(isr() & ISR_TC).toBe(0);
    clock.advanceTo(3 * FRAME_NS);
    expect(sent).toEqual([
      { byte: 1, timeNs: 2 * FRAME_NS },
      { byte: 2, timeNs: 3 * FRAME_NS },
    ]);
    expect(isr() & ISR_TC).toBeTruthy();
    u.write(USART.ICR, 1 << 6, 4);
    expect(isr() & ISR_TC).toBe(0);
  });
});

describe('USART enable and reset behaviour', () => {
  it('resets to ISR 0xC0 and clears status when UE goes low', () => {
    const clock = new TestClock();
    const u = new Usart({ name: 'U', clock });
    expect(u.read(USART.ISR, 4)).toBe(0xc0);
    u.write(USART.BRR, 556, 4);
    u.write(USART.CR1, CR1_UE | CR1_RE, 4);
    expect(u.read(USART.ISR, 4) & ISR_REACK).toBeTruthy();
    u.receive(0x55);
    clock.runUntilIdle();
    expect(u.read(USART.ISR, 4) & ISR_RXNE).toBeTruthy();
    u.write(USART.CR1, 0, 4);
    expect(u.read(USART.ISR, 4)).toBe(0xc0);
  });

  it('ignores configuration writes while UE = 1 and counts them', () => {
    const { u } = setup();
    u.write(USART.BRR, 139, 4);
    expect(u.read(USART.BRR, 4)).toBe(556);
    u.write(USART.CR1, CR1_UE | CR1_TE | CR1_RE | CR1_M0, 4);
    expect(u.read(USART.CR1, 4) & CR1_M0).toBe(0);
    expect(u.misuse.get('config-while-enabled')).toBe(2);
  });

  it('does not run with its bus clock off', () => {
    const clock = new TestClock();
    const u = new Usart({ name: 'U', clock, clockEnabled: false });
    u.write(USART.BRR, 556, 4);
    expect(u.read(USART.BRR, 4)).toBe(0);
    expect(u.writesWhileUnclocked).toBe(1);
  });
});

describe('USART reception', () => {
  it('sets BUSY during a frame and RXNE one frame after the start; RDR read clears it', () => {
    const { u, clock, isr } = setup();
    u.receive(0x5a);
    expect(isr() & ISR_BUSY).toBeTruthy();
    clock.advanceTo(FRAME_NS - 1);
    expect(isr() & ISR_RXNE).toBe(0);
    clock.advanceTo(FRAME_NS);
    expect(isr() & ISR_BUSY).toBe(0);
    expect(isr() & ISR_RXNE).toBeTruthy();
    expect(u.read(USART.RDR, 4)).toBe(0x5a);
    expect(isr() & ISR_RXNE).toBe(0);
  });

  it('queues back-to-back characters at the line rate', () => {
    const { u, clock } = setup();
    const got: [number, number][] = [];
    for (const b of [1, 2, 3]) u.receive(b);
    for (let i = 1; i <= 3; i++) {
      clock.advanceTo(i * FRAME_NS);
      got.push([u.read(USART.RDR, 1), clock.nowNs]);
    }
    expect(got).toEqual([
      [1, FRAME_NS],
      [2, 2 * FRAME_NS],
      [3, 3 * FRAME_NS],
    ]);
  });

  it('sets ORE when a frame arrives with RXNE set, keeping the unread byte', () => {
    const { u, clock, isr, irq } = setup(CR1_RXNEIE);
    u.receive(1);
    u.receive(2);
    clock.advanceTo(2 * FRAME_NS);
    expect(isr() & ISR_ORE).toBeTruthy();
    expect(irq.level).toBe(true);
    expect(u.read(USART.RDR, 4)).toBe(1);
    expect(irq.level).toBe(true); // ORE still asks for service
    u.write(USART.ICR, 1 << 3, 4);
    expect(isr() & ISR_ORE).toBe(0);
    expect(irq.level).toBe(false);
  });

  it('with OVRDIS the new byte overwrites RDR and ORE stays clear', () => {
    const { u, clock, isr } = setup(0, CR3_OVRDIS);
    u.receive(1);
    u.receive(2);
    clock.advanceTo(2 * FRAME_NS);
    expect(isr() & ISR_ORE).toBe(0);
    expect(u.read(USART.RDR, 4)).toBe(2);
  });

  it('sets IDLE after a whole idle frame follows data, once', () => {
    const { u, clock, isr, irq } = setup(CR1_IDLEIE);
    u.receive(1);
    u.receive(2);
    clock.advanceTo(2 * FRAME_NS);
    u.read(USART.RDR, 4);
    clock.advanceTo(3 * FRAME_NS - 1);
    expect(isr() & ISR_IDLE).toBe(0);
    clock.advanceTo(3 * FRAME_NS);
    expect(isr() & ISR_IDLE).toBeTruthy();
    expect(irq.level).toBe(true);
    u.write(USART.ICR, 1 << 4, 4);
    clock.advanceTo(10 * FRAME_NS);
    expect(isr() & ISR_IDLE).toBe(0); // not again until new data
    u.receive(3);
    clock.advanceTo(12 * FRAME_NS);
    expect(isr() & ISR_IDLE).toBeTruthy();
  });

  it('a new start bit within the idle frame postpones IDLE', () => {
    const { u, clock, isr } = setup();
    u.receive(1);
    clock.advanceTo(1.5 * FRAME_NS);
    u.receive(2);
    clock.advanceTo(2.5 * FRAME_NS);
    expect(isr() & ISR_IDLE).toBe(0);
    clock.advanceTo(3.5 * FRAME_NS);
    expect(isr() & ISR_IDLE).toBeTruthy();
  });

  it('injects framing error, noise and parity error; ICR clears each', () => {
    const { u, clock, isr, irq } = setup();
    u.write(USART.CR1, 0, 4);
    u.write(USART.CR3, CR3_EIE, 4);
    u.write(USART.CR1, CR1_UE | CR1_RE | CR1_PCE | CR1_M0 | (1 << 8), 4); // 9-bit word with parity, PEIE
    u.receive(0x141, { framingError: true });
    clock.advanceBy(u.frameNs()!);
    expect(isr() & (ISR_FE | ISR_RXNE)).toBe(ISR_FE | ISR_RXNE);
    expect(irq.level).toBe(true);
    expect(u.read(USART.RDR, 4)).toBe(0x141); // parity bit is read as the MSB
    u.write(USART.ICR, 1 << 1, 4);
    expect(isr() & ISR_FE).toBe(0);
    expect(irq.level).toBe(false);
    u.receive(0x42, { noise: true, parityError: true });
    clock.advanceBy(u.frameNs()!);
    expect(isr() & (ISR_NE | ISR_PE)).toBe(ISR_NE | ISR_PE);
    u.write(USART.ICR, (1 << 2) | 1, 4);
    expect(isr() & (ISR_NE | ISR_PE)).toBe(0);
  });

  it('ignores an injected parity error when parity is off', () => {
    const { u, clock, isr } = setup();
    u.receive(0x42, { parityError: true });
    clock.advanceTo(FRAME_NS);
    expect(isr() & ISR_PE).toBe(0);
  });

  it('drops characters while RE is off, though they take wire time', () => {
    const { u, clock, isr } = setup();
    u.write(USART.CR1, CR1_UE | CR1_TE, 4);
    u.receive(1);
    clock.advanceTo(FRAME_NS);
    expect(isr() & ISR_RXNE).toBe(0);
  });

  it('RQR RXFRQ discards RDR and TXFRQ sets TXE', () => {
    const { u, clock, isr } = setup();
    u.receive(1);
    clock.advanceTo(FRAME_NS);
    u.write(USART.RQR, 1 << 3, 4);
    expect(isr() & ISR_RXNE).toBe(0);
    u.write(USART.TDR, 7, 4); // straight to the shift register
    u.write(USART.TDR, 8, 4);
    u.write(USART.TDR, 9, 4); // 8 was still waiting: lost
    expect(u.misuse.get('tdr-overwrite')).toBe(1);
    u.write(USART.RQR, 1 << 4, 4);
    expect(isr() & ISR_TXE).toBeTruthy();
  });
});

describe('USART interrupts and DMA requests', () => {
  it('raises the line for TXE and TC while enabled', () => {
    const { u, clock, irq } = setup(CR1_TXEIE);
    expect(irq.level).toBe(true); // TDR empty
    u.write(USART.CR1, CR1_UE | CR1_TE | CR1_RE | CR1_TCIE, 4);
    expect(irq.level).toBe(true); // TC set out of reset
    u.write(USART.TDR, 1, 4);
    expect(irq.level).toBe(false);
    clock.runUntilIdle();
    expect(irq.level).toBe(true);
  });

  it('asserts the TX request while DMAT and TXE, the RX request while DMAR and RXNE', () => {
    const { u, clock, txReq, rxReq } = setup(0, CR3_DMAT | CR3_DMAR);
    expect(txReq.level).toBe(true);
    u.write(USART.TDR, 1, 4);
    expect(txReq.level).toBe(false); // TDR full during the preamble
    clock.advanceTo(FRAME_NS);
    expect(txReq.level).toBe(true);
    u.receive(9);
    clock.advanceTo(2 * FRAME_NS);
    expect(rxReq.level).toBe(true);
    u.read(USART.RDR, 1);
    expect(rxReq.level).toBe(false);
  });

  it('DDRE = 0: an erroneous character sets its flag but not RXNE, so DMA skips it', () => {
    const { u, clock, rxReq, isr } = setup(0, CR3_DMAR);
    u.receive(1, { framingError: true });
    u.receive(2);
    clock.advanceTo(FRAME_NS);
    expect(isr() & ISR_FE).toBeTruthy();
    expect(isr() & ISR_RXNE).toBe(0);
    expect(rxReq.level).toBe(false);
    clock.advanceTo(2 * FRAME_NS);
    expect(rxReq.level).toBe(true);
    expect(u.read(USART.RDR, 1)).toBe(2);
  });

  it('character match: CMF when the character equals CR2.ADD, read by the DMA or not; CMIE raises the line', () => {
    const { u, clock, irq, isr } = setup(0, CR3_DMAR);
    u.write(USART.CR1, 0, 4);
    u.write(USART.CR2, 0x0a << 24, 4); // ADD = '\n' (writable only while UE = 0)
    u.write(USART.CR1, CR1_UE | CR1_RE | CR1_CMIE, 4);
    u.receive(0x41);
    clock.advanceTo(FRAME_NS);
    expect(isr() & ISR_CMF).toBe(0);
    expect(irq.level).toBe(false);
    u.read(USART.RDR, 1); // as the DMA would
    u.receive(0x0a);
    clock.advanceTo(2 * FRAME_NS);
    expect(isr() & ISR_CMF).toBe(ISR_CMF);
    expect(irq.level).toBe(true);
    u.read(USART.RDR, 1);
    expect(isr() & ISR_CMF).toBe(ISR_CMF); // reading RDR does not clear it
    u.write(USART.ICR, 1 << 17, 4); // CMCF
    expect(isr() & ISR_CMF).toBe(0);
    expect(irq.level).toBe(false);
  });

  it('DDRE = 1: the request is masked until the error flag is cleared', () => {
    const { u, clock, rxReq, isr } = setup(0, CR3_DMAR | CR3_DDRE);
    u.receive(1, { noise: true });
    clock.advanceTo(FRAME_NS);
    expect(isr() & (ISR_NE | ISR_RXNE)).toBe(ISR_NE | ISR_RXNE);
    expect(rxReq.level).toBe(false);
    u.write(USART.ICR, 1 << 2, 4);
    expect(rxReq.level).toBe(true);
  });
});

describe('USART configuration RM0444 forbids or reserves', () => {
  function bare() {
    const clock = new TestClock();
    const u = new Usart({ name: 'USART1', clock, kernelHz: 64e6 });
    const errors: string[] = [];
    u.onConfigError = (what) => errors.push(what);
    return { clock, u, errors };
  }

  it('checks BRR at UE = 1, not at its write, and does not run a divider below 16', () => {
    const { u, errors } = bare();
    u.write(USART.BRR, 15, 4);
    expect(errors).toEqual([]);
    u.write(USART.CR1, CR1_UE | CR1_TE, 4);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^UE set with BRR = 0x000F \(OVER8 = 0\): USARTDIV must be at least 16/);
    expect(u.frameNs()).toBeUndefined();
  });

  it('checks M1:M0 and PRESCALER at their writes, and stays quiet while characters go', () => {
    const { u, errors, clock } = bare();
    u.write(USART.CR1, CR1_M1 | CR1_M0, 4);
    u.write(USART.PRESC, 0xf, 4);
    expect(errors.map((e) => e.slice(0, 44))).toEqual([
      'CR1 written with M1:M0 = 11, a word length R',
      'PRESC written with PRESCALER = 1111, which i',
    ]);
    u.write(USART.PRESC, 0, 4);
    u.write(USART.CR1, 0, 4);
    u.write(USART.BRR, 556, 4);
    u.write(USART.CR1, CR1_UE | CR1_TE, 4);
    for (let i = 0; i < 4; i++) {
      u.write(USART.TDR, 0x55, 4);
      clock.advanceBy(2 * FRAME_NS);
    }
    expect(errors).toHaveLength(2);
  });
});
