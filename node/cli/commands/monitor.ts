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
      try {
        for await (const half of reception) {
          if (args.json) {
            io.out(
              JSON.stringify({
                offset,
                length: half.length,
                hex: Buffer.from(half).toString('hex'),
                text: new TextDecoder().decode(half),
              }),
            );
          } else if (args.hex) {
            for (const line of hexDump(half, { start: offset })) io.out(line);
          } else {
            await io.outBytes(half);
          }
          halves++;
          offset += half.length;
          if (args.count !== undefined && halves >= args.count) break;
        }
      } finally {
        clearTimeout(timer);
        io.interrupted.removeEventListener('abort', stop);
        await reception.stop().catch(() => {});
      }
      await injecting;
      await peer?.close();
      const errors =
        reception.usartErrors > 0 ? `; USART1 reported ${reception.usartErrors} reception errors` : '';
      io.note(`received ${halves} halves (${offset} bytes)${errors}`);
    });
    return undefined;
  },
});
