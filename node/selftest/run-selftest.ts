/**
 * The bring-up self-test: what a person holding a freshly flashed board
 * runs to learn whether everything works, and pastes into an issue when
 * it does not. Each check says what it did and what it saw; a check that
 * needs something the board has not got (a PC4–PC5 jumper, a peer) is
 * skipped with what to do about it.
 */
import { Serial1, type SerialRx, type SerialTx } from '../../driver/api/index.ts';
import type { Board } from '../../driver/board/board.ts';
import { DmaStartRefusedError, OutOfArenaError, RegisterNotAllowedError } from '../../driver/board/errors.ts';
import { Capability } from '../../driver/protocol/messages.ts';
import type { SerialPeer } from '../../emulator/host/serial-peer.ts';
import { LoopbackPeer, type UsartPeer, VirtualPeer } from '../peers/index.ts';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

export interface SelftestOptions {
  /** USART1 TX is wired to RX (a PC4–PC5 jumper, or the virtual board wired so). */
  readonly loopback: boolean;
  /** The in-process virtual board's USART1 peer, when there is one. */
  readonly virtualPeer?: SerialPeer | undefined;
  /** Called as each check ends (for a live report). */
  readonly onCheck?: (check: CheckResult) => void;
}

const USART1_BAUD = 115_200;
const RCC_CR = 0x4002_1000;
const FIRMWARE_RAM = 0x2000_0000;
const RESET_FLAGS: readonly [number, string][] = [
  [31, 'low-power'],
  [30, 'window watchdog'],
  [29, 'independent watchdog'],
  [28, 'software'],
  [27, 'power-on'],
  [26, 'reset pin'],
  [25, 'option-byte load'],
];

const hex = (n: number, digits = 8) => `0x${n.toString(16).padStart(digits, '0')}`;
const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed) & 0xff);
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Runs every check in turn; a check that throws fails with its error, and the next one runs. */
export async function runSelftest(board: Board, options: SelftestOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const record = (name: string, status: CheckStatus, detail: string) => {
    const r = { name, status, detail };
    results.push(r);
    options.onCheck?.(r);
  };
  const check = async (name: string, run: () => Promise<[CheckStatus, string]>) => {
    try {
      const [status, detail] = await run();
      record(name, status, detail);
    } catch (error) {
      record(name, 'fail', error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  };

  await check('HELLO', async () => {
    const h = board.hello;
    const { major, minor, patch } = h.firmwareVersion;
    const chip = h.devId === board.chip.devId ? board.chip.name : `an unknown chip (dev ${hex(h.devId, 3)})`;
    return [
      'pass',
      `${chip} rev ${hex(h.revId, 4)}, bridge firmware ${major}.${minor}.${patch}, protocol v${h.protocolVersion}, ` +
        `arena ${hex(h.arenaBase)} + ${h.arenaSize} bytes, USART1 clock ${h.usart1ClockHz / 1e6} MHz`,
    ];
  });

  await check('host link', async () => {
    const { baud, bootBaud, note } = board.linkRate;
    const rate = baud === bootBaud ? `${baud} baud` : `${baud} baud (negotiated up from ${bootBaud})`;
    const credit = board.hello.rxBuffer === undefined ? '' : `, receive buffer ${board.hello.rxBuffer} bytes`;
    if (note !== undefined) return ['warn', `${rate}${credit}: ${note}`];
    const rtt0 = board.timers.now();
    for (let i = 0; i < 20; i++) await board.ping(pattern(32, i));
    const ms = (board.timers.now() - rtt0) / 20;
    return ['pass', `${rate}${credit}; 20 PINGs echoed, ${ms.toFixed(2)} ms a round trip`];
  });

  await check('allow-list', async () => {
    const refusedRead = await board.readRegister(RCC_CR).then(
      () => false,
      (e: unknown) => e instanceof RegisterNotAllowedError,
    );
    const refusedWrite = await board.raw.writeRegister(board.chip.dma.isr.address, 0).then(
      () => false,
      (e: unknown) => e instanceof RegisterNotAllowedError,
    );
    const cmar = board.chip.dma.channels[0]!.cmar.address;
    await board.raw.writeRegister(cmar, board.arena.base);
    const readBack = await board.readRegister(cmar);
    if (!refusedRead || !refusedWrite) {
      return [
        'fail',
        `RCC_CR read ${refusedRead ? 'refused' : 'ALLOWED'}, DMA1_ISR write ${refusedWrite ? 'refused' : 'ALLOWED'}`,
      ];
    }
    if (readBack !== board.arena.base) return ['fail', `DMA1_CMAR1 read back ${hex(readBack)}`];
    return [
      'pass',
      'RCC_CR read and DMA1_ISR write refused (REG_NOT_ALLOWED); DMA1_CMAR1 written and read back',
    ];
  });

  await check('arena', async () => {
    const outside = await board.readMemory(FIRMWARE_RAM, 4).then(
      () => false,
      (e: unknown) => e instanceof OutOfArenaError,
    );
    // The chapter's 'static bound, enforced by the firmware: a channel aimed at its own RAM does not start.
    const ch1 = board.chip.dma.channels[0]!;
    const usart = board.chip.usart1;
    await board.raw.writeRegister(ch1.mux.address, board.chip.dmamuxRequests.USART1_TX ?? 51);
    await board.raw.writeRegister(ch1.cpar.address, usart.tdr.address);
    await board.raw.writeRegister(ch1.cndtr.address, 16);
    await board.raw.writeRegister(ch1.cmar.address, FIRMWARE_RAM);
    const EN_DIR_MINC = (1 << 0) | (1 << 4) | (1 << 7);
    const startRefused = await board.raw.writeRegister(ch1.ccr.address, EN_DIR_MINC).then(
      () => false,
      (e: unknown) => e instanceof DmaStartRefusedError,
    );
    const ccr = await board.readRegister(ch1.ccr.address);
    await board.resetPeripherals();
    const bytes = pattern(256, 3);
    await board.raw.writeMemory(board.arena.base, bytes);
    const back = await board.readMemory(board.arena.base, bytes.length);
    if (!outside || !startRefused || ccr !== 0) {
      return [
        'fail',
        `MEM_READ of the firmware's RAM ${outside ? 'refused' : 'ALLOWED'}; a DMA start into it ` +
          `${startRefused ? 'refused' : 'ALLOWED'} (CCR ${hex(ccr)})`,
      ];
    }
    if (!equal(back, bytes)) return ['fail', '256 bytes written to the arena read back different'];
    return [
      'pass',
      "MEM_READ of the firmware's RAM refused (OUT_OF_ARENA); a DMA start into it refused (DMA_START_REFUSED), " +
        'the channel stayed off; 256 bytes written to the arena read back',
    ];
  });

  const serial = await Serial1.take(board, { baudRate: USART1_BAUD });
  let { tx, rx } = serial.split();
  const peerFor = (lent: { tx?: SerialTx; rx?: SerialRx }): UsartPeer | undefined => {
    if (options.loopback) return new LoopbackPeer(board, lent);
    if (options.virtualPeer) return new VirtualPeer(options.virtualPeer);
    return undefined;
  };
  const noPeer =
    'nothing on USART1 to talk to: wire PC4 (D1) to PC5 (D0) and add --loopback (or run without --port, on the virtual board)';

  await check('DMA write', async () => {
    const peer = peerFor({ rx });
    if (!peer) return ['skip', noPeer];
    const data = pattern(64, 11);
    const listening = await peer.listen(data.length, { timeoutMs: 5000 });
    const buffer = board.alloc(data.length);
    await buffer.write(data);
    const done = await tx.writeAll(buffer).wait({ timeoutMs: 5000 });
    tx = done.serial;
    done.buffer.free();
    const got = (await listening.received).bytes;
    if (peer instanceof LoopbackPeer) rx = (await peer.giveBack()).rx ?? rx;
    await peer.close();
    if (!equal(got, data))
      return ['fail', `64 bytes out of USART1 by DMA: ${peer.description} got other bytes`];
    return [
      'pass',
      `64 bytes out of USART1 (PC4) by DMA1 channel 1 at ${USART1_BAUD} baud reached ${peer.description}`,
    ];
  });

  await check('DMA read', async () => {
    const peer = peerFor({ tx });
    if (!peer) return ['skip', noPeer];
    const data = pattern(64, 29);
    const buffer = board.alloc(data.length);
    const transfer = rx.readExact(buffer);
    await transfer.started;
    const sending = peer.send(data);
    const done = await transfer.wait({ timeoutMs: 5000 });
    await sending;
    rx = done.serial;
    const got = await done.buffer.read();
    done.buffer.free();
    if (peer instanceof LoopbackPeer) tx = (await peer.giveBack()).tx ?? tx;
    await peer.close();
    if (!equal(got, data))
      return ['fail', `64 bytes from ${peer.description}: other bytes arrived in the arena`];
    return ['pass', `64 bytes from ${peer.description} into the arena by DMA1 channel 2 (readExact)`];
  });

  await check('circular', async () => {
    const peer = peerFor({ tx });
    if (!peer) return ['skip', noPeer];
    const halfBytes = 32;
    const sent = [1, 2, 3, 4].map((seed) => pattern(halfBytes, 100 + seed));
    const reception = rx.readCircular(board.alloc(2 * halfBytes));
    await reception.started;
    const halves = reception[Symbol.asyncIterator]();
    const got: Uint8Array[] = [];
    for (const half of sent) {
      await peer.send(half);
      const next = await halves.next();
      if (next.done) break;
      got.push(next.value);
    }
    const stopped = await reception.stop();
    rx = stopped.serial;
    stopped.buffer.free();
    if (peer instanceof LoopbackPeer) tx = (await peer.giveBack()).tx ?? tx;
    await peer.close();
    const ok = got.length === sent.length && got.every((g, i) => equal(g, sent[i]!));
    if (!ok) return ['fail', `readCircular: ${got.length} of 4 halves, ${ok ? '' : 'not the bytes sent'}`];
    return [
      'pass',
      `readCircular on a ${2 * halfBytes}-byte buffer: 4 halves (two laps) in order, no overrun`,
    ];
  });

  await check('board health', async () => {
    if (!board.hasCapability(Capability.BOARD_STATUS)) {
      return [
        'skip',
        'this firmware has no BOARD_STATUS: flash the current bridge firmware (dma-bridge flash)',
      ];
    }
    const s = await board.status();
    const causes = RESET_FLAGS.filter(([b]) => (s.resetFlags >>> b) & 1).map(([, name]) => name);
    const fault =
      s.faultCount > 0
        ? `${s.faultCount} HardFaults since power-up, the last at ${hex(s.faultPc)}`
        : 'no fault';
    const detail =
      `last reset: ${causes.join(' + ') || 'unknown'}; host link: ${s.linkRxDropped} bytes dropped, ` +
      `${s.linkRxErrors} damaged characters, ` +
      `${s.linkFramesDropped === undefined ? '' : `${s.linkFramesDropped} request frames dropped, `}` +
      `${s.linkFallbacks} rate fallbacks; ${s.eventsDropped} events dropped; ${fault}`;
    const watchdog = (s.resetFlags >>> 29) & 1;
    const bad = s.faultCount > 0 || s.linkRxDropped > 0 || watchdog;
    return [bad ? 'warn' : 'pass', detail];
  });

  await check('link counters', async () => {
    const st = board.stats;
    const detail =
      `${st.framesSent} frames sent, ${st.framesReceived} received, ${st.retransmissions} retransmissions, ` +
      `${st.corruptFrames} corrupt, ${st.timeouts} timeouts, ${st.eventsLost} events lost`;
    return [st.corruptFrames + st.timeouts + st.eventsLost > 0 ? 'warn' : 'pass', detail];
  });

  return results;
}
