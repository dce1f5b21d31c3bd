/**
 * The DMA chapter as steps on a board: each says what it shows, runs it,
 * and tells what happened. A step returns 'skipped' with a reason when the
 * board at hand cannot show it (a real board with nobody on USART1).
 */
import { type Board, MovedError } from '../../driver/board/index.ts';
import { hex32, preview } from '../../format/bytes.ts';
import { millis } from '../cli/layout.ts';
import { type DemoContext, noPeerReason, virtualNow, withPeer } from './context.ts';

export type StepOutcome = 'done' | { skipped: string };

export interface Step {
  readonly title: string;
  run(ctx: DemoContext): Promise<StepOutcome>;
}

const encode = (s: string) => new TextEncoder().encode(s);

/** "2000000 baud (negotiated up from 115200)", or why it stayed where it is. */
function linkRateText(board: Board): string {
  const { baud, bootBaud, note } = board.linkRate;
  if (note !== undefined) return `${baud} baud (${note})`;
  return baud === bootBaud ? `${baud} baud` : `${baud} baud (negotiated up from ${bootBaud})`;
}

const hello: Step = {
  title: 'HELLO: who is on the other end of the link',
  async run({ board, say }) {
    const h = board.hello;
    const { major, minor, patch } = h.firmwareVersion;
    say(
      `${board.chip.name} (device 0x${h.devId.toString(16)}), bridge firmware ${major}.${minor}.${patch}, protocol v${h.protocolVersion}`,
    );
    say(
      `DMA arena ${hex32(h.arenaBase)} .. ${hex32(h.arenaBase + h.arenaSize - 1)} (${h.arenaSize} bytes): ` +
        'the only memory a transfer can ever touch',
    );
    say(
      `link ${linkRateText(board)}, up to ${h.window} requests in flight; USART1 clock ${h.usart1ClockHz / 1e6} MHz`,
    );
    return 'done';
  },
};

const writeHello: Step = {
  title: 'writeAll: "Hello, world!" out of USART1 by DMA',
  async run(ctx) {
    const { board, say } = ctx;
    const buffer = board.alloc(13);
    await buffer.write(encode('Hello, world!'));
    say(`buffer of 13 bytes at ${hex32(buffer.address)} in the arena, filled over the link`);
    if (noPeerReason(ctx)) {
      const { serial } = await ctx.serial.writeAll(buffer).wait({ timeoutMs: 5000 });
      ctx.serial = serial;
      say('sent from PC4 (D1); with a USB-serial adapter on that pin at 115200 baud you would see it');
      return 'done';
    }
    await withPeer(ctx, async ({ tx }, peer) => {
      const listener = peer('rx');
      const listening = await listener.listen(13);
      const transfer = tx.writeAll(buffer);
      say(
        'serial.writeAll(buffer): one request starts the DMA; the Transfer owns the serial and the buffer now',
      );
      const { serial } = await transfer.wait({ timeoutMs: 5000 });
      const heard = await listening.received;
      const times = heard.virtualTimesNs;
      if (times && times.length > 1) {
        const first = times[0] ?? 0;
        const last = times.at(-1) ?? 0;
        const gap = (last - first) / (times.length - 1);
        say(
          `the peer received ${preview(heard.bytes)}: first byte at t = ${(first / 1e6).toFixed(3)} ms, ` +
            `last at t = ${(last / 1e6).toFixed(3)} ms (virtual), one every ${(gap / 1000).toFixed(1)} µs = ${ctx.baudRate} baud`,
        );
      } else {
        say(`read back through PC5 (loopback): ${preview(heard.bytes)}`);
      }
      say('wait() resolved once the last stop bit left the wire (USART1 TC after the DMA TC)');
      return { tx: serial };
    });
    return 'done';
  },
};

const readSixteen: Step = {
  title: 'readExact: 16 bytes in from USART1',
  async run(ctx) {
    const reason = noPeerReason(ctx);
    if (reason) return { skipped: reason };
    const { board, say } = ctx;
    await withPeer(ctx, async ({ rx }, peer) => {
      const sender = peer('tx');
      const transfer = rx.readExact(board.alloc(16));
      await transfer.started;
      say(
        `rx.readExact(16-byte buffer) started${virtualNow(ctx)}; ${sender.description} sends "0123456789abcdef"`,
      );
      await sender.send(encode('0123456789abcdef'));
      const { buffer, serial } = await transfer.wait({ timeoutMs: 5000 });
      say(`complete${virtualNow(ctx)}: the buffer holds ${preview(await buffer.read())}`);
      return { rx: serial };
    });
    return 'done';
  },
};

const moved: Step = {
  title: 'Ownership: the serial and the buffer are moved into the transfer',
  async run(ctx) {
    const { board, say } = ctx;
    const serial = ctx.serial;
    const buffer = board.alloc(4);
    await buffer.write(encode('abcd'));
    const transfer = serial.writeAll(buffer);
    try {
      await serial.write(0x41);
      throw new Error('serial.write() after writeAll() did not throw');
    } catch (error) {
      if (!(error instanceof MovedError)) throw error;
      say(`serial.write(0x41) while the DMA owns USART1 → ${error.name}: ${error.message}`);
    }
    try {
      await buffer.read();
      throw new Error('buffer.read() after writeAll() did not throw');
    } catch (error) {
      if (!(error instanceof MovedError)) throw error;
      say(`buffer.read() while the DMA reads it → ${error.name}: ${error.message}`);
    }
    const back = await transfer.wait({ timeoutMs: 5000 });
    ctx.serial = back.serial;
    say(`wait() handed back fresh owners: the new buffer reads ${preview(await back.buffer.read())}`);
    return 'done';
  },
};

const stopEarly: Step = {
  title: 'stop(): a transfer ended early, with the count actually moved',
  async run(ctx) {
    const { board, say } = ctx;
    const length = 4096;
    const buffer = board.alloc(length);
    await buffer.write(encode('x'.repeat(length)));
    await withPeer(ctx, async ({ tx }, peer) => {
      // With a loopback jumper the bytes come back: let the DMA take them,
      // or USART1 would report an overrun for every one of them.
      const listening = ctx.loopback ? await peer('rx').listen(length) : undefined;
      const vb = ctx.virtualBoard;
      // Counted from before the start: the first bytes leave while the start's reply is on its way.
      const seen = vb?.peer.received().length ?? 0;
      const transfer = tx.writeAll(buffer);
      await transfer.started;
      const wire = millis((length * 10 * 1000) / ctx.baudRate);
      say(`writeAll of ${length} bytes started: ${wire} on the wire at ${ctx.baudRate} baud`);
      if (vb) {
        // Stop once the peer has seen 100 bytes: mid-transfer, however fast the emulator runs.
        await new Promise<void>((resolve) => {
          const off = vb.peer.onByte(() => {
            if (vb.peer.received().length - seen >= 100) {
              off();
              resolve();
            }
          });
        });
      }
      const { transferred, serial, buffer: back } = await transfer.stop();
      await listening?.cancel();
      if (transferred < length) {
        say(`stop() → transferred = ${transferred} of ${length}: the channel is off, confirmed by the board`);
      } else {
        say(
          `stop() came after the last byte: transferred = ${transferred}, and stop() just handed the owners back`,
        );
      }
      if (vb) {
        say(
          `the peer has ${vb.peer.received().length - seen} bytes so far; ` +
            'USART1 still finishes the byte or two it already held',
        );
      }
      say(`the buffer came back usable (${back.usable}): its memory can be freed or used again safely`);
      back.free();
      return { tx: serial };
    });
    return 'done';
  },
};

const circular: Step = {
  title: 'readCircular: halves handed over while the DMA keeps filling the other one',
  async run(ctx) {
    const reason = noPeerReason(ctx);
    if (reason) return { skipped: reason };
    const { board, say } = ctx;
    await withPeer(ctx, async ({ rx }, peer) => {
      const sender = peer('tx');
      const reception = rx.readCircular(board.alloc(32));
      await reception.started;
      say(
        `rx.readCircular(32-byte buffer): halves of 16 bytes; ${sender.description} sends one line per half`,
      );
      const halves = reception[Symbol.asyncIterator]();
      const lines = ['half one: 16 b\r\n', 'half two: 16 b\r\n', 'half 3, lap two\n', 'half 4, lap two\n'];
      for (const [i, line] of lines.entries()) {
        await sender.send(encode(line));
        const next = await halves.next();
        if (next.done) throw new Error('the circular reception ended early');
        say(
          `half ${i + 1} (buffer bytes ${(i % 2) * 16}..${(i % 2) * 16 + 15})${virtualNow(ctx)}: ${preview(next.value)}`,
        );
      }
      const { serial } = await reception.stop();
      say(
        `stop() after ${reception.progress.consumed} halves, no overrun (laps are counted, so one would be an error)`,
      );
      return { rx: serial };
    });
    return 'done';
  },
};

export const steps: readonly Step[] = [hello, writeHello, readSixteen, moved, stopEarly, circular];
