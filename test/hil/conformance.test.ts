/**
 * The conformance suite: the same checks on every target.
 *
 *   (a) the in-process virtual board (the real firmware on the emulator), with
 *       its virtual peer and, again, wired in loopback (the HIL_LOOPBACK peer);
 *   (b) the same virtual board behind a pseudo-terminal (socat), opened
 *       through serialport exactly like a real serial port;
 *   (c) a real Nucleo-G071RB running the bridge firmware, when HIL_PORT is set.
 *
 * Environment, for (c):
 *   HIL_PORT=/dev/ttyACM0   the board's ST-LINK virtual COM port (or tcp://host:port, ser2net)
 *   HIL_PEER_PORT=/dev/ttyUSB0
 *                           a USB-serial adapter as USART1's peer: adapter RX on PC4 (D1),
 *                           adapter TX on PC5 (D0), grounds joined
 *   HIL_LOOPBACK=1          or: a jumper from PC4 (D1) to PC5 (D0); the board is its own peer
 *   HIL_BAUD=115200         USART1's rate for the tests (default 115200)
 * Without HIL_PEER_PORT or HIL_LOOPBACK the tests that need a peer are skipped, saying so.
 *
 *   HIL_PORT=/dev/ttyACM0 HIL_LOOPBACK=1 npx vitest run test/hil
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { Serial1, SerialRx, SerialTx } from '../../driver/api/index.ts';
import { DmaStartRefusedError, MovedError, RegisterNotAllowedError } from '../../driver/board/index.ts';
import { Capability, PROTOCOL_VERSION } from '../../driver/protocol/messages.ts';
import type { LentHalves, UsartPeer } from '../../node/peers/index.ts';
import { type TargetSession, targets } from './targets.ts';

const text = (s: string) => new TextEncoder().encode(s);
const pattern = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe.each(targets.map((t) => [t.name, t] as const))('%s', (_name, target) => {
  const skip = target.skipReason;
  // A skipped target says why, and how to enable it, in the test report.
  describe.skipIf(skip !== undefined)(skip ? `skipped: ${skip}` : 'conformance', () => {
    let session: TargetSession;

    beforeAll(async () => {
      session = await target.open();
    });
    afterAll(async () => {
      await session?.close();
    });
    beforeEach(async () => {
      await session.reset();
    });

    async function halves(): Promise<{ tx: SerialTx; rx: SerialRx }> {
      const serial = await Serial1.take(session.board, { baudRate: session.baudRate });
      return serial.split();
    }

    /** The target's peer, or the test is skipped with what to set to give it one. */
    function peerOrSkip(ctx: TestContext, lent: LentHalves): UsartPeer {
      const peer = session.peer(lent);
      if (!peer) ctx.skip(session.noPeerReason);
      return peer as UsartPeer;
    }

    it('answers HELLO as a bridge on an STM32G071, echoes PINGs and holds arena memory', async () => {
      const { board } = session;
      expect(board.hello.protocolVersion).toBe(PROTOCOL_VERSION);
      expect(board.hello.devId).toBe(board.chip.devId);
      expect(board.hasCapability(Capability.DMA1_CH1_USART1)).toBe(true);
      expect(board.hasCapability(Capability.EVENTS)).toBe(true);
      expect(board.arena.size).toBeGreaterThanOrEqual(4096);

      const sizes = [0, 1, 17, 128, 255];
      const replies = await Promise.all(sizes.map((n) => board.ping(pattern(n, n))));
      expect(replies).toEqual(sizes.map((n) => pattern(n, n)));

      const bytes = pattern(600, 5);
      await board.raw.writeMemory(board.arena.base, bytes);
      expect(await board.readMemory(board.arena.base, bytes.length)).toEqual(bytes);
    });

    it('reads and writes allow-listed registers and refuses the rest, and any DMA start outside the arena', async () => {
      const { board } = session;
      const ch1 = board.chip.dma.channels[0]!;
      await board.raw.writeRegister(ch1.cmar.address, board.arena.base);
      expect(await board.readRegister(ch1.cmar.address)).toBe(board.arena.base);

      const RCC_CR = 0x4002_1000;
      await expect(board.readRegister(RCC_CR)).rejects.toBeInstanceOf(RegisterNotAllowedError);
      await expect(board.raw.writeRegister(board.chip.dma.isr.address, 0)).rejects.toBeInstanceOf(
        RegisterNotAllowedError,
      );

      // The chapter's 'static bound, enforced by the firmware: a channel
      // pointed at the firmware's own RAM (its stack) does not start.
      const usart = board.chip.usart1;
      await board.raw.writeRegister(ch1.mux.address, board.chip.dmamuxRequests.USART1_TX ?? 51);
      await board.raw.writeRegister(ch1.cpar.address, usart.tdr.address);
      await board.raw.writeRegister(ch1.cndtr.address, 16);
      await board.raw.writeRegister(ch1.cmar.address, 0x2000_0000);
      const EN = 1 << 0;
      const DIR = 1 << 4;
      const MINC = 1 << 7;
      await expect(board.raw.writeRegister(ch1.ccr.address, EN | DIR | MINC)).rejects.toBeInstanceOf(
        DmaStartRefusedError,
      );
      expect(await board.readRegister(ch1.ccr.address)).toBe(0);
    });

    it('writeAll: "Hello, world!" arrives at the peer', async (ctx) => {
      const { tx, rx } = await halves();
      const peer = peerOrSkip(ctx, { rx });
      const listening = await peer.listen(13);
      const buffer = session.board.alloc(13);
      await buffer.write(text('Hello, world!'));
      const done = await tx.writeAll(buffer).wait({ timeoutMs: 5000 });
      expect(done.serial).toBeInstanceOf(SerialTx);
      expect(new TextDecoder().decode((await listening.received).bytes)).toBe('Hello, world!');
      await peer.close();
    });

    it('readExact: 16 bytes from the peer fill the buffer', async (ctx) => {
      const { tx, rx } = await halves();
      const peer = peerOrSkip(ctx, { tx });
      const transfer = rx.readExact(session.board.alloc(16));
      await transfer.started;
      await peer.send(text('0123456789abcdef'));
      const { buffer, serial } = await transfer.wait({ timeoutMs: 5000 });
      expect(new TextDecoder().decode(await buffer.read())).toBe('0123456789abcdef');
      expect(serial).toBeInstanceOf(SerialRx);
      await peer.close();
    });

    it('stop() ends a reception early with the count received, and hands both owners back', async (ctx) => {
      const { tx, rx } = await halves();
      const peer = peerOrSkip(ctx, { tx });
      const cndtr2 = session.board.chip.dma.channels[1]!.cndtr.address;
      const transfer = rx.readExact(session.board.alloc(32));
      await transfer.started;
      await peer.send(text('ten bytes!'));
      // The peer's bytes are on the wire; wait until the DMA has stored all ten.
      const deadline = Date.now() + 5000;
      while ((await session.board.readRegister(cndtr2)) !== 22) {
        if (Date.now() > deadline) throw new Error('the ten bytes did not arrive');
      }
      const { transferred, buffer, serial } = await transfer.stop();
      expect(transferred).toBe(10);
      expect(new TextDecoder().decode(await buffer.read(0, 10))).toBe('ten bytes!');
      // The handed-back receive half works again.
      await serial.readUntilIdle(buffer).stop();
      await peer.close();
    });

    it('stop() ends a write early: fewer bytes than the buffer went out', async () => {
      // 1200 baud: 2 KiB take 17 s on the wire, so the stop surely lands
      // mid-transfer, even on a virtual board that runs ahead of the wall clock.
      const serial = await Serial1.take(session.board, { baudRate: 1200 });
      const buffer = session.board.alloc(2048);
      await buffer.write(pattern(2048));
      const transfer = serial.writeAll(buffer);
      await transfer.started;
      const { transferred, buffer: back, serial: again } = await transfer.stop();
      expect(transferred).toBeGreaterThan(0);
      expect(transferred).toBeLessThan(2048);
      expect(back.usable).toBe(true);
      expect(again).toBeInstanceOf(Serial1);
    });

    it('moved owners throw MovedError naming the call, and wait() hands back fresh ones', async () => {
      const serial = await Serial1.take(session.board, { baudRate: session.baudRate });
      const buffer = session.board.alloc(4);
      await buffer.write(text('abcd'));
      const transfer = serial.writeAll(buffer);
      expect(() => serial.write(0x41)).toThrow(MovedError);
      expect(() => serial.writeAll(buffer)).toThrow(/moved by writeAll\(\)/);
      await expect(buffer.read()).rejects.toThrow(MovedError);
      const { serial: s2, buffer: b2 } = await transfer.wait({ timeoutMs: 5000 });
      await expect(transfer.wait()).rejects.toThrow(/moved by wait\(\)/);
      expect(new TextDecoder().decode(await b2.read())).toBe('abcd');
      const { tx } = s2.split();
      expect(() => s2.writeAll(b2)).toThrow(/moved by split\(\)/);
      await tx.writeAll(b2).wait({ timeoutMs: 5000 });
    });

    it('readCircular: halves arrive in order, lap after lap', async (ctx) => {
      const { tx, rx } = await halves();
      const peer = peerOrSkip(ctx, { tx });
      const reception = rx.readCircular(session.board.alloc(32));
      await reception.started;
      const halvesIn = reception[Symbol.asyncIterator]();
      const got: Uint8Array[] = [];
      const sent = [1, 2, 3, 4].map((seed) => pattern(16, seed));
      // Half by half: the peer never gets a whole buffer ahead of the reader.
      for (const half of sent) {
        await peer.send(half);
        const next = await halvesIn.next();
        if (next.done) throw new Error('the reception ended early');
        got.push(next.value);
      }
      expect(Buffer.concat(got)).toEqual(Buffer.concat(sent));
      expect(reception.progress).toEqual({ produced: 4, consumed: 4 });
      const { serial } = await reception.stop();
      expect(serial).toBeInstanceOf(SerialRx);
      await peer.close();
    });

    it('streamWriter: 4 KiB in 1 KiB chunks arrive whole and in order', async (ctx) => {
      const { tx, rx } = await halves();
      const peer = peerOrSkip(ctx, { rx });
      const data = pattern(4096, 7);
      const listening = await peer.listen(data.length, { timeoutMs: 15_000 });
      const progress: number[] = [];
      const writer = tx.streamWriter({ chunkSize: 1024, onProgress: (n) => progress.push(n) });
      const back = await writer.pipeFrom(data);
      expect(back).toBeInstanceOf(SerialTx);
      expect(progress).toEqual([1024, 2048, 3072, 4096]);
      expect(Buffer.from((await listening.received).bytes)).toEqual(Buffer.from(data));
      await peer.close();
    });
  });
});
