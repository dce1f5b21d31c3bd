/**
 * `dma-bridge monitor`: circular reception on USART1, streamed to stdout
 * half a buffer at a time, until Ctrl-C, --count halves or --duration.
 * The DMA never stops between halves; the reader only has to keep up, and
 * if it does not, the lap counting says so (OverrunError) instead of
 * printing overwritten bytes.
 */
import { z } from 'zod';
import { byteSize, hexDump } from '../../../format/bytes.ts';
import { defineCommand } from '../command.ts';
import { withBoard } from '../connect.ts';
import { interruption } from '../errors.ts';
import { millis } from '../layout.ts';
import { duration, wholeNumber } from '../options.ts';
import {
  INJECT_DETAILS,
  INJECT_NEEDS_SENDER,
  injectHasSender,
  SERIAL_DETAILS,
  serialOptionSpecs,
  serialOptionsSchema,
  takeReceiver,
} from '../serial-options.ts';

const DEFAULT_BUFFER = 256;

const schema = serialOptionsSchema
  .extend({
    buffer: wholeNumber(2, 16_384, 'an even buffer size in bytes')
      .refine((n) => n % 2 === 0, 'expected an even buffer size in bytes: it is read in halves')
      .default(DEFAULT_BUFFER),
    count: wholeNumber(1, 1_000_000, 'a number of halves').optional(),
    duration: duration().optional(),
    hex: z.boolean().default(false),
    inject: z.string().min(1, 'expected the text to send').optional(),
  })
  .refine((a) => !(a.hex && a.json), {
    message: '--hex and --json are two output formats: pick one',
    path: ['hex'],
  })
  .refine(injectHasSender, INJECT_NEEDS_SENDER);

export const monitorCommand = defineCommand({
  name: 'monitor',
  summary: 'circular DMA reception on USART1 (PC5) to stdout, until Ctrl-C',
  synopsis:
    '[--buffer N] [--count N | --duration D] [--hex] [--inject TEXT] [--baud N] [--loopback] [--port PATH] [--json]',
  details: [
    `--buffer N        circular buffer size (even, default ${DEFAULT_BUFFER}); bytes come out half a buffer at a time`,
    '--count N         stop after N halves',
    '--duration D      stop after D: 500ms, 2s, 1.5 (seconds)',
    '--hex             a hex dump instead of the raw bytes; --json: one JSON object per half',
    ...INJECT_DETAILS,
    ...SERIAL_DETAILS,
    'A continuous stream at the host link rate can outrun the link; use a lower --baud or a larger --buffer.',
  ],
  options: {
    ...serialOptionSpecs,
    buffer: { type: 'string' },
    count: { type: 'string' },
    duration: { type: 'string' },
    hex: { type: 'boolean' },
    inject: { type: 'string' },
  },
  allowPositionals: false,
  schema,
  async run(args, io) {
    await withBoard(args, io, async (board, connection) => {
      const { rx, peer } = await takeReceiver(board, connection, args, io);
      const reception = rx.readCircular(board.alloc(args.buffer, { align: 1 }));
      await reception.started;
      const until =
        args.count !== undefined
          ? `${args.count} halves`
          : args.duration !== undefined
            ? millis(args.duration)
            : 'Ctrl-C';
      io.note(
        `receiving on USART1 at ${args.baud} baud into a ${byteSize(args.buffer)} circular buffer, ` +
          `${args.buffer / 2} bytes at a time, until ${until}`,
      );

      // stop() ends the iteration below: the next half it waits for never comes.
      const stop = (): void => void reception.stop().catch(() => {});
      io.interrupted.addEventListener('abort', stop, { once: true });
      // A virtual board waiting for input holds no handle: without a timer Node
      // would find nothing left to do and exit while we wait for Ctrl-C.
      const timer = setTimeout(stop, args.duration ?? 2 ** 31 - 1);
      // Not awaited: the loopback peer's write runs while the halves are read.
      const injecting =
        peer && args.inject !== undefined ? peer.send(new TextEncoder().encode(args.inject)) : undefined;
      injecting?.catch(stop);

      let halves = 0;
      let offset = 0;
      const emit = async (bytes: Uint8Array): Promise<void> => {
        if (bytes.length === 0) return;
        if (args.json) {
          io.out(
            JSON.stringify({
              offset,
              length: bytes.length,
              hex: Buffer.from(bytes).toString('hex'),
              text: new TextDecoder().decode(bytes),
            }),
          );
        } else if (args.hex) {
          for (const line of hexDump(bytes, { start: offset })) io.out(line);
        } else {
          await io.outBytes(bytes);
        }
        offset += bytes.length;
      };
      let counted = false;
      try {
        for await (const half of reception) {
          await emit(half);
          halves++;
          if (args.count !== undefined && halves >= args.count) {
            counted = true;
            break;
          }
        }
      } finally {
        clearTimeout(timer);
        io.interrupted.removeEventListener('abort', stop);
        await reception.stop().catch(() => {});
      }
      // Stopped by time or Ctrl-C: what came after the last whole half, read from the board.
      const rest = counted ? new Uint8Array(0) : await reception.rest();
      await emit(rest);
      await injecting;
      await peer?.close();
      const errors =
        reception.usartErrors > 0 ? `; USART1 reported ${reception.usartErrors} reception errors` : '';
      const partial = rest.length > 0 ? ` and ${rest.length} bytes of the next` : '';
      const summary = `received ${halves} halves${partial} (${offset} bytes)${errors}`;
      if (io.interrupted.aborted) {
        throw interruption(`the board stopped the DMA; ${summary}`, {
          halves,
          bytes: offset,
          usartErrors: reception.usartErrors,
        });
      }
      io.note(summary);
    });
    return undefined;
  },
});
