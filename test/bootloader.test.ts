/**
 * A board that runs ST's system bootloader instead of the bridge (an
 * STM32G0 after its first programming, until a power cycle): the bridge's
 * HELLO gets no answer, the host recognises the bootloader by its first
 * bytes at 8E1 (0x7F -> ACK 0x79, GET ID -> 0x460) and says what to do,
 * and after a power cycle the bridge answers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { probeSystemBootloader, SystemBootloaderError } from '../driver/bootloader/index.ts';
import { Board, LinkTimeoutError } from '../driver/index.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { openBoard } from '../node/cli/connect.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

let vb: VirtualBoard | undefined;
afterEach(async () => {
  await vb?.dispose();
  vb = undefined;
});

function inBootloader(): VirtualBoard {
  vb = new VirtualBoard({ firmware: loadFirmware(), bootloader: true });
  vb.start();
  return vb;
}

describe('the STM32 system bootloader on the board port', () => {
  it('is recognised at 115200 8E1 by its ACK to 0x7F and its product ID 0x460', async () => {
    const board = inBootloader();
    const timers = virtualTimers(board);
    const hello = await Board.open(board.hostPort(), {
      timers,
      linkBaud: 'boot',
      retransmitTimeoutMs: 100,
      maxRetries: 2,
    }).catch((e: unknown) => e);
    expect(hello).toBeInstanceOf(LinkTimeoutError);
    const port = board.hostPort({ parity: 'even' });
    expect(await probeSystemBootloader(port, timers)).toEqual({ productId: 0x460 });
    await port.close();
    // Asked again, it is already synchronised: NACK to 0x7F, the same ID.
    const again = board.hostPort({ parity: 'even' });
    expect(await probeSystemBootloader(again, timers)).toEqual({ productId: 0x460 });
    await again.close();
    const error = new SystemBootloaderError('/dev/ttyACM0', 0x460);
    expect(error.message).toMatch(
      /system bootloader \(ROM, product ID 0x460\).*Unplug the board's USB cable/,
    );
  });

  it('is not taken for a bridge, nor a bridge for it', async () => {
    // At 8N1 the product ID's second byte (0x60, even ones) arrives garbled: no false positive of a wrong ID.
    const board = inBootloader();
    const timers = virtualTimers(board);
    const port = board.hostPort();
    const found = await probeSystemBootloader(port, timers);
    expect(found?.productId).not.toBe(0x460);
    await port.close();
    // The bridge firmware never answers 0x7F as the bootloader does.
    await board.dispose();
    vb = new VirtualBoard({ firmware: loadFirmware() });
    vb.start();
    const bridgePort = vb.hostPort({ parity: 'even' });
    expect(await probeSystemBootloader(bridgePort, virtualTimers(vb))).toBeUndefined();
    await bridgePort.close();
    vb.chip.strict.clear(); // the bridge saw a 0x7F and GET ID, not frames: nothing to report of the firmware
  });

  it('gives way to the bridge after a power cycle, and not after a reset', async () => {
    const board = inBootloader();
    const timers = virtualTimers(board);
    expect(board.chip.flashInterface.read(0, 4) & (1 << 16)).not.toBe(0); // FLASH_ACR.EMPTY
    board.reset();
    expect(board.runsBootloader).toBe(true);
    board.powerCycle();
    expect(board.runsBootloader).toBe(false);
    const bridge = await Board.open(board.hostPort(), { timers, linkBaud: 'boot' });
    expect(bridge.hello.devId).toBe(0x460);
    await bridge.close();
  });
  it('makes the CLI say what to do instead of "no bridge answers"', async () => {
    const board = inBootloader();
    const transport = board.hostPort();
    const notes: string[] = [];
    const io = {
      out: () => {},
      note: (line: string) => notes.push(line),
      outBytes: async () => {},
      errRaw: () => {},
      stderrIsTty: false,
      stderrColumns: 80,
      interrupted: new AbortController().signal,
    };
    const connection = {
      transport,
      description: 'in-process virtual board',
      virtual: true,
      virtualBoard: board,
      timers: virtualTimers(board),
      close: async () => {},
      probeBootloader: async () => {
        await transport.close();
        const port = board.hostPort({ parity: 'even' });
        try {
          return await probeSystemBootloader(port, virtualTimers(board));
        } finally {
          await port.close();
        }
      },
    };
    const error = await openBoard(connection, io, 'boot').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SystemBootloaderError);
    expect((error as Error).message).toMatch(
      /in-process virtual board is running the STM32 system bootloader/,
    );
  });
  it('gives way to the bridge at a reset once a debugger cleared FLASH_ACR.EMPTY (what dma-bridge flash --with openocd does)', async () => {
    const board = inBootloader();
    const fi = board.chip.flashInterface;
    fi.write(0, fi.read(0, 4) & ~(1 << 16), 4); // OpenOCD: mmw 0x40022000 0 0x00010000
    board.reset(); // OpenOCD: reset run
    expect(board.runsBootloader).toBe(false);
    const bridge = await Board.open(board.hostPort(), { timers: virtualTimers(board), linkBaud: 'boot' });
    expect(bridge.hello.devId).toBe(0x460);
    await bridge.close();
  });
});
