import { afterEach, describe, expect, it } from 'vitest';
import { CR1_RE, CR1_TE, CR1_UE, ISR_FE, ISR_RXNE, USART } from '../stm32g071/usart.ts';
import { dmaHelloFirmware, echoFirmware, FRAME_NS } from './test-firmware.ts';
import { VirtualBoard } from './virtual-board.ts';

const boards: VirtualBoard[] = [];
function makeBoard(options: ConstructorParameters<typeof VirtualBoard>[0] = {}) {
  const board = new VirtualBoard({ firmware: echoFirmware(), ...options });
  boards.push(board);
  return board;
}
afterEach(async () => {
  for (const b of boards.splice(0)) await b.dispose();
});

/** Reads from a stream until `n` bytes have arrived. */
async function readBytes(reader: ReadableStreamDefaultReader<Uint8Array>, n: number): Promise<number[]> {
  const got: number[] = [];
  while (got.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    got.push(...value);
  }
  return got;
}

describe('VirtualBoard and its host port (USART2)', () => {
  it('boots the firmware, which greets and then echoes what the host writes', async () => {
    const board = makeBoard();
    const port = board.hostPort();
    const reader = port.readable.getReader();
    const writer = port.writable.getWriter();
    board.start();
    expect(await readBytes(reader, 1)).toEqual([0x42]);
    await writer.write(new Uint8Array([1, 2, 3]));
    expect(await readBytes(reader, 3)).toEqual([1, 2, 3]);
    reader.releaseLock();
    writer.releaseLock();
    await port.close();
  });

  it('delivers host bytes at the line rate', async () => {
    const board = makeBoard();
    const port = board.hostPort();
    const reader = port.readable.getReader();
    board.start();
    await readBytes(reader, 1);
    const t0 = board.nowNs;
    const writer = port.writable.getWriter();
    await writer.write(new Uint8Array(10).fill(0x55));
    await readBytes(reader, 10);
    // Ten characters arrive one host frame apart (115200 baud exactly, the
    // board's BRR 139 is 0.08 % slower; each is received once its stop bit
    // is sampled, half a bit before its end); the last echo takes one board frame.
    const hostFrameNs = 1e10 / 115_200;
    expect(board.nowNs - t0).toBeGreaterThanOrEqual(10 * hostFrameNs - hostFrameNs / 20 + FRAME_NS);
    expect(board.nowNs - t0).toBeLessThan(13 * FRAME_NS);
  });

  it('has its own line rate: within the receiver tolerance bytes pass, beyond it they arrive garbled both ways', async () => {
    // The echo firmware runs USART2 at 115108 baud (BRR 139 from 16 MHz).
    const echo = async (baud: number) => {
      const board = makeBoard();
      const port = board.hostPort({ baudRate: baud });
      expect(port.baudRate).toBe(baud);
      const reader = port.readable.getReader();
      const drain = async () => {
        const got: number[] = [];
        const pending = reader.read();
        await port.close();
        for (let r = await pending; !r.done; r = await reader.read()) got.push(...r.value);
        return got;
      };
      // Stepped by hand: boot (the greeting), then the echo of what the host sent.
      board.runFor(2_000_000);
      const first = await reader.read();
      const greeting = first.done ? [] : [...first.value];
      const sent = [0x55, 0x00, 0x7e, 0xa5, 0x31];
      void port.writable.getWriter().write(Uint8Array.from(sent));
      board.runFor(2_000_000);
      const back = await drain();
      // The strict board names the mismatch; read here, so the after-test check does not fail on it.
      const reports = board.strictReports.map((r) => `${r.rule} ${r.peripheral}: ${r.message}`);
      board.chip.strict.clear();
      return { greeting, back, sent, reports };
    };
    const exact = await echo(115_200);
    expect(exact.greeting).toEqual([0x42]);
    expect(exact.back).toEqual(exact.sent);
    expect(exact.reports).toEqual([]);
    const slightlySlow = await echo(112_000); // 2.8 % slow
    expect(slightlySlow.back).toEqual(slightlySlow.sent);
    expect(slightlySlow.reports).toEqual([]);
    // Twice the rate: the board's receiver garbles what the host sends.
    const fast = await echo(230_400);
    expect(fast.back).not.toEqual(fast.sent);
    expect(fast.reports).toContain(
      "baud-mismatch USART2 RX: the host port sends at 230400 baud and USART2 receives at 115108 baud, beyond the receiver's tolerance to clock deviation (RM0444 §33.5.8): characters arrive as framing errors and garbage",
    );
    // Half the rate: the host's receiver garbles the board's greeting too.
    const slow = await echo(57_600);
    expect(slow.greeting).not.toEqual([0x42]);
    expect(slow.back).not.toEqual(slow.sent);
    expect(slow.reports.join('\n')).toMatch(
      /USART2 TX: USART2 sends at 115108 baud and the host port receives at 57600 baud/,
    );
    expect(slow.reports.join('\n')).toMatch(/USART2 RX: the host port sends at 57600 baud/);
  });

  it('changes its rate at run time, and refuses rates it cannot run at', async () => {
    const board = makeBoard();
    const port = board.hostPort({ baudRate: 9600, maxBaudRate: 2_250_000 });
    expect(port.maxBaudRate).toBe(2_250_000);
    await port.setBaudRate(115_200);
    expect(port.baudRate).toBe(115_200);
    const reader = port.readable.getReader();
    board.start();
    expect(await readBytes(reader, 1)).toEqual([0x42]);
    await expect(port.setBaudRate(3_000_000)).rejects.toThrow(/above this port's highest rate, 2250000/);
    await expect(port.setBaudRate(0)).rejects.toThrow(/positive whole number/);
    expect(port.baudRate).toBe(115_200);
  });

  it('waits for input instead of spinning while the firmware sleeps', async () => {
    const board = makeBoard();
    const port = board.hostPort();
    const reader = port.readable.getReader();
    board.start();
    await readBytes(reader, 1);
    await new Promise((r) => setTimeout(r, 20));
    const t = board.nowNs;
    await new Promise((r) => setTimeout(r, 20));
    expect(board.nowNs).toBe(t); // asleep, nothing scheduled: virtual time stands still
    expect(board.running).toBe(true);
  });

  it('a reset reboots the firmware: a second banner and a new boot count', async () => {
    const board = makeBoard();
    const port = board.hostPort();
    const reader = port.readable.getReader();
    board.start();
    await readBytes(reader, 1);
    const boots = board.bootCount;
    board.reset();
    expect(board.bootCount).toBe(boots + 1);
    expect(await readBytes(reader, 1)).toEqual([0x42]);
    expect(board.chip.rcc.read(0x60, 4) & (1 << 26)).toBeTruthy(); // PINRSTF
  });

  it('close ends both streams cleanly', async () => {
    const board = makeBoard();
    const port = board.hostPort();
    const reader = port.readable.getReader();
    board.start();
    await readBytes(reader, 1);
    const pending = reader.read();
    await port.close();
    expect((await pending).done).toBe(true);
    // The writable side is closed too (its writer's `closed` settles).
    await expect(port.writable.getWriter().closed).resolves.toBeUndefined();
    await port.close(); // twice is fine
    const again = board.hostPort(); // a new port can be opened
    await again.close();
  });

  it('a writer held across close gets its writes refused', async () => {
    const board = makeBoard();
    const port = board.hostPort();
    const writer = port.writable.getWriter();
    await port.close();
    await expect(writer.write(new Uint8Array([1]))).rejects.toThrow(/closed/);
  });

  it('stop freezes virtual time; start resumes', async () => {
    const board = makeBoard();
    board.start();
    await board.stop();
    const t = board.nowNs;
    board.chip.usart2.receive(7); // input while stopped waits on the wire
    await new Promise((r) => setTimeout(r, 10));
    expect(board.nowNs).toBe(t);
    const port = board.hostPort();
    const reader = port.readable.getReader();
    board.start();
    expect(await readBytes(reader, 1)).toEqual([7]);
  });
});

describe('VirtualBoard running a firmware that uses the PLL and DMA', () => {
  it('switches to 64 MHz and sends "hello" through DMA1/DMAMUX/USART2 at 115200', async () => {
    const board = makeBoard({ firmware: dmaHelloFirmware(), pllLockNs: 20_000 });
    const port = board.hostPort();
    const reader = port.readable.getReader();
    const halted = new Promise((resolve) => board.onHalt(resolve));
    board.start();
    expect(await halted).toMatchObject({ reason: 'breakpoint' });
    expect(board.chip.cpu.frequencyHz).toBe(64e6);
    expect(board.chip.dma1.misuse.size).toBe(0);
    expect(new TextDecoder().decode(new Uint8Array(await readBytes(reader, 5)))).toBe('hello');
    // PLL lock, then an idle preamble and five characters of 10 × 556 / 64 MHz.
    const frame = (10 * 556 * 1e9) / 64e6;
    expect(board.nowNs).toBeGreaterThan(20_000 + 6 * frame);
    expect(board.nowNs).toBeLessThan(20_000 + 6 * frame + 10_000);
  });
});

describe('VirtualBoard USART1 wiring', () => {
  /** Sets USART1 and its pins up from the outside at 115200 from 16 MHz (the echo firmware leaves them alone). */
  function enableUsart1(board: VirtualBoard) {
    const bus = board.chip.bus;
    bus.write(0x4002_1034, bus.read(0x4002_1034, 4) | (1 << 2), 4); // IOPENR.GPIOCEN
    bus.write(0x5000_0800, (bus.read(0x5000_0800, 4) & ~(0xf << 8)) | (0b1010 << 8), 4); // PC4, PC5: AF
    bus.write(0x5000_0820, (bus.read(0x5000_0820, 4) & ~(0xff << 16)) | (0x11 << 16), 4); // AF1
    bus.write(0x4002_1040, 1 << 14, 4); // APBENR2.USART1EN
    bus.write(0x4001_3800 + USART.BRR, 139, 4);
    bus.write(0x4001_3800 + USART.CR1, CR1_UE | CR1_RE | CR1_TE, 4);
    return {
      isr: () => bus.read(0x4001_3800 + USART.ISR, 4),
      rdr: () => bus.read(0x4001_3800 + USART.RDR, 4),
      send: (b: number) => bus.write(0x4001_3800 + USART.TDR, b, 4),
    };
  }

  it('a peer injects bytes and errors, and sees what the board sends', () => {
    const board = makeBoard();
    const u1 = enableUsart1(board);
    const heard: number[] = [];
    board.peer.onByte((b) => heard.push(b));
    board.peer.inject([0x31]);
    board.runFor(2 * FRAME_NS);
    expect(u1.isr() & ISR_RXNE).toBeTruthy();
    expect(u1.rdr()).toBe(0x31);
    board.peer.injectError('framing');
    board.runFor(2 * FRAME_NS);
    expect(u1.isr() & ISR_FE).toBeTruthy();
    u1.send(0x99);
    board.runFor(3 * FRAME_NS);
    expect(board.peer.received().map((r) => r.byte)).toEqual([0x99]);
    expect(heard).toEqual([0x99]);
    board.peer.clear();
    expect(board.peer.received()).toEqual([]);
  });

  it('loopback returns TX to RX, ending with the transmission; switchable', () => {
    const board = makeBoard({ usart1: 'loopback' });
    const u1 = enableUsart1(board);
    board.runFor(FRAME_NS); // the transmitter's idle preamble
    u1.send(0x5a);
    board.runFor(FRAME_NS);
    expect(u1.isr() & ISR_RXNE).toBeTruthy();
    expect(u1.rdr()).toBe(0x5a);
    expect(board.peer.received()).toEqual([]);
    board.setUsart1Wiring('peer');
    u1.send(0x5b);
    board.runFor(2 * FRAME_NS);
    expect(u1.isr() & ISR_RXNE).toBe(0);
    expect(board.peer.received().map((r) => r.byte)).toEqual([0x5b]);
  });

  it('a peer with its own rate: within tolerance bytes pass both ways, beyond it they arrive garbled', () => {
    const exchange = (peerBaud: number) => {
      const board = makeBoard();
      const u1 = enableUsart1(board); // 115108 baud (BRR 139 from 16 MHz)
      board.peer.baudRate = peerBaud;
      expect(board.peer.baudRate).toBe(peerBaud);
      board.peer.inject([0x55]);
      board.runFor(40 * FRAME_NS);
      const got = u1.isr() & ISR_RXNE ? u1.rdr() : undefined;
      const fe = (u1.isr() & ISR_FE) !== 0;
      for (const b of [0x31, 0x00, 0xa5]) {
        u1.send(b);
        board.runFor(12 * FRAME_NS);
      }
      const reports = board.strictReports.map((r) => `${r.rule} ${r.peripheral}`);
      board.chip.strict.clear();
      return { got, fe, heard: board.peer.received(), reports };
    };
    const same = exchange(115_200);
    expect(same).toMatchObject({ got: 0x55, fe: false });
    expect(same.heard.map((r) => [r.byte, r.framingError ?? false])).toEqual([
      [0x31, false],
      [0x00, false],
      [0xa5, false],
    ]);
    expect(same.reports).toEqual([]);
    const half = exchange(57_600);
    expect(half.reports).toEqual(['baud-mismatch USART1 RX', 'baud-mismatch USART1 TX']);
    expect(half.got === 0x55 && !half.fe).toBe(false);
    expect(half.heard.map((r) => r.byte)).not.toEqual([0x31, 0x00, 0xa5]);
    // The board's 0x00, at half the peer's rate, is still low when the peer samples its stop bit: FE.
    const double = exchange(230_400);
    expect(double.heard.some((r) => r.framingError)).toBe(true);
    expect(double.reports).toEqual(['baud-mismatch USART1 RX', 'baud-mismatch USART1 TX']);
  });

  it('gives each board its own UID', () => {
    const a = makeBoard({ uid: [1, 2, 3] });
    const b = makeBoard({ uid: [4, 5, 6] });
    expect(a.chip.bus.read(0x1fff_7590, 4)).toBe(1);
    expect(b.chip.bus.read(0x1fff_7590, 4)).toBe(4);
  });
});
