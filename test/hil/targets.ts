/**
 * The boards the conformance suite runs on, each with the far end of its
 * USART1 wire as a UsartPeer, so every test is written once:
 *
 * - `in-process`: the virtual board in the test process, its peer object;
 * - `in-process, loopback`: the same board wired TX to RX, as with HIL_LOOPBACK;
 * - `pty`: the same virtual board served on a pseudo-terminal by socat and
 *   opened through serialport exactly like a real port (one server and one
 *   session for the whole suite, so it stays fast);
 * - `hardware`: HIL_PORT, with HIL_PEER_PORT (a USB-serial adapter on
 *   USART1) or HIL_LOOPBACK=1 (a PC4–PC5 jumper) as the peer.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Board } from '../../driver/board/board.ts';
import type { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import {
  borrowed,
  type LentHalves,
  LoopbackPeer,
  SerialportPeer,
  type UsartPeer,
  VirtualPeer,
} from '../../node/peers/index.ts';
import { openTransport } from '../../node/transport/open-transport.ts';
import { DEFAULT_FIRMWARE, loadVirtualBoard } from '../../node/virtual/load-board.ts';
import { VirtualServer } from '../../node/virtual-server.ts';
import { openVirtualTarget } from '../support/virtual-target.ts';

/** An open board and its peer, shared by the tests of one target. */
export interface TargetSession {
  readonly board: Board;
  /** USART1's rate for the tests. */
  readonly baudRate: number;
  /** The virtual board, when there is one (for virtual-time figures). */
  readonly virtualBoard: VirtualBoard | undefined;
  /**
   * The peer for a test that uses `lent`'s other halves: the loopback peer
   * sends through the lent SerialTx and listens through the lent SerialRx;
   * the other peers ignore them. Undefined when the target has no peer.
   */
  peer(lent: LentHalves): UsartPeer | undefined;
  /** Why `peer()` is undefined, with how to give the target one. */
  readonly noPeerReason: string | undefined;
  /** A clean board for the next test: both DMA channels stopped, USART1 reset, the arena free. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface Target {
  readonly name: string;
  /** Why the target cannot run here (with how to enable it), or undefined. */
  readonly skipReason: string | undefined;
  open(): Promise<TargetSession>;
}

const haveFirmware = existsSync(DEFAULT_FIRMWARE);
const firmwareMissing = haveFirmware
  ? undefined
  : 'the bridge firmware is not built: run "make -C firmware-bridge"';

function haveSocat(): boolean {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const inProcess: Target = {
  name: 'the in-process virtual board',
  skipReason: firmwareMissing,
  async open() {
    const target = await openVirtualTarget();
    const peer = new VirtualPeer(target.vb.peer);
    return {
      board: target.board,
      baudRate: 115_200,
      virtualBoard: target.vb,
      peer: () => peer,
      noPeerReason: undefined,
      async reset() {
        target.vb.peer.clear();
        await target.board.recover();
      },
      close: () => target.dispose(),
    };
  },
};

/**
 * The in-process virtual board with USART1's TX wired to its RX: the
 * HIL_LOOPBACK peer (the board hears itself) checked without hardware.
 */
const inProcessLoopback: Target = {
  name: 'the in-process virtual board wired in loopback',
  skipReason: firmwareMissing,
  async open() {
    const target = await openVirtualTarget({ usart1: 'loopback' });
    return {
      board: target.board,
      baudRate: 115_200,
      virtualBoard: target.vb,
      peer: (lent) => new LoopbackPeer(target.board, lent),
      noPeerReason: undefined,
      reset: () => target.board.recover(),
      close: () => target.dispose(),
    };
  },
};

const pty: Target = {
  name: 'the virtual board on a pseudo-terminal',
  skipReason:
    firmwareMissing ??
    (haveSocat() ? undefined : 'socat is not installed (Debian/Ubuntu: sudo apt-get install socat)'),
  async open() {
    // A board behind a serial port keeps to the wall clock, as a real one.
    const vb = await loadVirtualBoard({ pace: 'realtime' });
    const server = await VirtualServer.start(vb, { pty: true, log: () => {} });
    const path = server.addresses.pty;
    if (path === undefined) throw new Error('the virtual server made no pty');
    const board = await Board.open(await openTransport(path));
    const peer = new VirtualPeer(vb.peer);
    return {
      board,
      baudRate: 115_200,
      virtualBoard: vb,
      peer: () => peer,
      noPeerReason: undefined,
      async reset() {
        vb.peer.clear();
        await board.recover();
      },
      async close() {
        await board.close().catch(() => {});
        await server.close();
        await vb.dispose();
      },
    };
  },
};

const HIL_HOWTO =
  'set HIL_PORT to a Nucleo-G071RB running the bridge firmware (e.g. HIL_PORT=/dev/ttyACM0), ' +
  'with HIL_PEER_PORT=/dev/ttyUSB0 (a USB-serial adapter: its RX on PC4/D1, its TX on PC5/D0, GND joined) ' +
  'or HIL_LOOPBACK=1 (a jumper from PC4/D1 to PC5/D0)';

export function hardwareTarget(env: NodeJS.ProcessEnv = process.env): Target {
  const port = env.HIL_PORT;
  const peerPort = env.HIL_PEER_PORT;
  const loopback = env.HIL_LOOPBACK === '1';
  const baudRate = Number(env.HIL_BAUD ?? 115_200);
  return {
    name: `the board on ${port ?? 'HIL_PORT'}`,
    skipReason: port ? undefined : `no real board: ${HIL_HOWTO}`,
    async open() {
      if (!port) throw new Error(HIL_HOWTO);
      const board = await Board.open(await openTransport(port));
      let serialPeer: SerialportPeer | undefined;
      if (peerPort && !loopback) {
        try {
          serialPeer = await SerialportPeer.open(peerPort, baudRate);
        } catch (error) {
          await board.close().catch(() => {});
          throw error;
        }
      }
      return {
        board,
        baudRate,
        virtualBoard: undefined,
        peer: (lent) => (loopback ? new LoopbackPeer(board, lent) : serialPeer && borrowed(serialPeer)),
        noPeerReason:
          loopback || serialPeer
            ? undefined
            : 'this test needs a peer on USART1: set HIL_PEER_PORT or HIL_LOOPBACK=1',
        reset: () => board.recover(),
        async close() {
          await serialPeer?.close();
          await board.close().catch(() => {});
        },
      };
    },
  };
}

export const targets: readonly Target[] = [inProcess, inProcessLoopback, pty, hardwareTarget()];
