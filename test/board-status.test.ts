/**
 * BOARD_STATUS end to end on the virtual board running the real firmware:
 * why the board last reset, host-link bytes it lost, rate fallbacks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Board, Link, PollTimeoutError, type Transport } from '../driver/index.ts';
import { type HostPort, VirtualBoard } from '../emulator/index.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

const PINRSTF = 1 << 26;
const PWRRSTF = 1 << 27;
const SFTRSTF = 1 << 28;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function virtualBoard(): VirtualBoard {
  const vb = new VirtualBoard({ firmware: loadFirmware() });
  vb.start();
  cleanups.push(() => vb.dispose());
  return vb;
}

/** The host port, plus a way to put raw bytes on the line past the link (a host that ignores the credit). */
function withRawWrites(port: HostPort): Transport & { raw(bytes: Uint8Array): Promise<void> } {
  const writer = port.writable.getWriter();
  return {
    readable: port.readable,
    writable: new WritableStream<Uint8Array>({ write: (chunk) => writer.write(chunk) }),
    close: () => port.close(),
    info: port.info,
    setBaudRate: (baud) => port.setBaudRate(baud),
    raw: (bytes) => writer.write(bytes),
  };
}

describe('BOARD_STATUS', () => {
  it('says why the board last reset: power-up, the reset button, a software reset', async () => {
    const vb = virtualBoard();
    const board = await Board.open(vb.hostPort(), { timers: virtualTimers(vb) });
    cleanups.push(() => board.close());
    const first = await board.status();
    expect(first.resetFlags & PWRRSTF).not.toBe(0);
    expect(first).toMatchObject({ linkRxDropped: 0, linkRxErrors: 0, eventsDropped: 0, faultCount: 0 });

    vb.reset();
    await board.recover();
    const afterPin = await board.status();
    expect(afterPin.resetFlags & (PINRSTF | PWRRSTF | SFTRSTF)).toBe(PINRSTF);
  });

  it('counts host-link bytes lost when a host overruns the receive ring, and the link recovers', async () => {
    const vb = virtualBoard();
    const transport = withRawWrites(vb.hostPort());
    const board = await Board.open(transport, { timers: virtualTimers(vb) });
    cleanups.push(() => board.close());
    expect(board.hello.rxBuffer).toBe(4095);
    // The board busy on a 60 ms POLL that never matches, while a host that
    // ignores the credit sends 8 KiB (40 ms at 2 Mbaud) behind it.
    const cndtr1 = board.chip.dma.channels[0]!.cndtr.address;
    const busy = board.raw.batch((b) => b.poll(cndtr1, 0xffff, 0x1234, 60_000));
    await transport.raw(new Uint8Array(8192).fill(0x55));
    expect((await busy).failure?.error).toBeInstanceOf(PollTimeoutError);
    const status = await board.status();
    expect(status.linkRxDropped).toBeGreaterThan(0);
    expect(status.linkRxDropped).toBeLessThanOrEqual(8192);
    expect(await board.ping(Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('counts the times the link fell back to its boot rate', async () => {
    const vb = virtualBoard();
    const link = await Link.open(vb.hostPort(), { timers: virtualTimers(vb) });
    cleanups.push(() => link.close());
    await link.request({ command: 'set-link-baud', baud: 921_600 });
    // The host stays at 115200: its next frame's 0x00 is a framing error at 921600, and the board goes back.
    await link.reopen();
    const reply = await link.request({ command: 'board-status' });
    if (reply.result.status !== 0) throw new Error('BOARD_STATUS refused');
    expect(reply.result.board.linkFallbacks).toBe(1);
    expect(reply.result.board.linkRxErrors).toBeGreaterThan(0);
    // The host stayed at the old rate on purpose: the strict board names the garbled line, and only that.
    expect(new Set(vb.strictReports.map((r) => r.rule))).toEqual(new Set(['baud-mismatch']));
    vb.chip.strict.clear();
  });
});
