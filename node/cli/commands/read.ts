/**
 * `dma-bridge read`: receives on USART1 (PC5) by DMA, either exactly N
 * bytes (readExact) or until the line goes idle (readUntilIdle), and shows
 * them as a hex dump, raw, or JSON.
 */
import { z } from 'zod';
import {
  type SerialRx,
  type Transfer,
  TransferAbortedError,
  TransferTimeoutError,
} from '../../../driver/api/index.ts';
import type { DmaBuffer } from '../../../driver/board/dma-buffer.ts';
import { hexDump } from '../../../format/bytes.ts';
import type { UsartPeer } from '../../peers/index.ts';
import { defineCommand } from '../command.ts';
import { withBoard } from '../connect.ts';
import { dmaReadBackOff } from '../dma-readback.ts';
import { interruption } from '../errors.ts';
import type { CliIo } from '../io.ts';
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

const MAX_READ = 16_384;
const DEFAULT_IDLE_MAX = 256;
const DEFAULT_TIMEOUT_MS = 10_000;

const count = wholeNumber(1, MAX_READ, 'a byte count');

const schema = serialOptionsSchema
  .extend({
    _: z.array(z.string()).max(1, 'give one byte count'),
    idle: z.boolean().default(false),
    max: count.optional(),
    timeout: duration().default(DEFAULT_TIMEOUT_MS),
    inject: z.string().min(1, 'expected the text to send').optional(),
    raw: z.boolean().default(false),
  })
  .refine((a) => (a._.length === 1) !== a.idle, {
    message: 'say how much to read: a byte count N, or --idle (until the line goes idle)',
  })
  .refine((a) => a.max === undefined || a.idle, {
    message: '--max goes with --idle; with a byte count, the count is the length',
    path: ['max'],
  })
  .refine((a) => !(a.raw && a.json), {
    message: '--raw and --json both want stdout: pick one',
    path: ['raw'],
  })
  .refine(injectHasSender, INJECT_NEEDS_SENDER)
  .refine((a) => a.port !== undefined || a.inject !== undefined, {
    message:
      'nothing sends to the in-process virtual board unless asked: add --inject TEXT ' +
      '(its USART1 peer sends TEXT once reception has started), or --port for a board with a sender',
  })
  .transform((a, ctx) => {
    if (a.idle) return { ...a, length: a.max ?? DEFAULT_IDLE_MAX };
    const parsed = count.safeParse(a._[0]);
    if (!parsed.success) {
      ctx.addIssue({
        code: 'custom',
        message: parsed.error.issues[0]?.message ?? 'bad count',
        path: ['_', 0],
      });
      return z.NEVER;
    }
    return { ...a, length: parsed.data };
  });

export const readCommand = defineCommand({
  name: 'read',
  summary: 'receive N bytes, or until the line goes idle, on USART1 (PC5) by DMA',
  synopsis:
    '(N | --idle [--max N]) [--timeout 10s] [--inject TEXT] [--baud N] [--loopback] [--raw] [--port PATH] [--json]',
  details: [
    'N                 receive exactly N bytes (readExact)',
    `--idle            receive until the line goes idle after data (readUntilIdle), at most --max bytes (default ${DEFAULT_IDLE_MAX})`,
    '--timeout D       give up after D: 500ms, 2s, 1.5 (seconds); default 10s',
    ...INJECT_DETAILS,
    ...SERIAL_DETAILS,
    '--raw             the bytes as they are on stdout, instead of a hex dump',
  ],
  options: {
    ...serialOptionSpecs,
    idle: { type: 'boolean' },
    max: { type: 'string' },
    timeout: { type: 'string' },
    inject: { type: 'string' },
    raw: { type: 'boolean' },
  },
  allowPositionals: true,
  schema,
  async run(args, io) {
    return withBoard(args, io, async (board, connection) => {
      const { rx, peer } = await takeReceiver(board, connection, args, io);
      const buffer = board.alloc(args.length, { align: 1 });
      const transfer = args.idle ? rx.readUntilIdle(buffer) : rx.readExact(buffer);
      await transfer.started;
      const what = args.idle ? `up to ${args.length} bytes until the line goes idle` : `${args.length} bytes`;
      io.note(`receiving ${what} on USART1 at ${args.baud} baud (timeout ${millis(args.timeout)})`);
      const started = performance.now();
      await inject(peer, args.inject, io);
      const outcome = await finish(transfer, args.timeout, io.interrupted);
      const elapsedMs = performance.now() - started;
      const bytes = await outcome.buffer.read(0, outcome.received);
      await peer?.close();

      const fields = {
        board: connection.description,
        requested: args.length,
        received: bytes.length,
        mode: args.idle ? 'idle' : 'exact',
        timedOut: outcome.timedOut,
        elapsedMs: Math.round(elapsedMs * 1000) / 1000,
        hex: Buffer.from(bytes).toString('hex'),
        text: new TextDecoder().decode(bytes),
      };
      if (outcome.interrupted) {
        // The claim comes from the board: the channels read back off, the count from its CNDTR.
        const off = await dmaReadBackOff(board);
        if (args.raw) await io.outBytes(bytes);
        else if (!args.json) for (const line of hexDump(bytes)) io.out(line);
        throw interruption(
          `the board stopped the DMA after ${bytes.length} of ${args.length} bytes had arrived (${off})`,
          fields,
        );
      }
      if (args.json) {
        io.out(JSON.stringify(fields));
      } else if (args.raw) {
        await io.outBytes(bytes);
      } else {
        for (const line of hexDump(bytes)) io.out(line);
      }
      if (!outcome.timedOut) {
        io.note(`received ${bytes.length} bytes in ${millis(elapsedMs)}`);
        return undefined;
      }
      if (args.idle && bytes.length > 0) {
        io.note(`received ${bytes.length} bytes; stopped at the timeout, before the line went idle`);
        return undefined;
      }
      const got = args.idle ? 'nothing received' : `received ${bytes.length} of ${args.length} bytes`;
      throw new Error(
        `${got} within ${millis(args.timeout)}: is anything sending to USART1 RX (PC5, D0) at ${args.baud} baud?`,
      );
    });
  },
});

async function inject(peer: UsartPeer | undefined, text: string | undefined, io: CliIo): Promise<void> {
  if (!peer || text === undefined) return;
  io.note(`${peer.description} sends ${JSON.stringify(text)}`);
  await peer.send(new TextEncoder().encode(text));
}

interface Outcome {
  readonly buffer: DmaBuffer;
  readonly received: number;
  readonly timedOut: boolean;
  readonly interrupted: boolean;
}

/** Waits for the transfer; at the timeout or Ctrl-C stops it (confirmed by the board) and keeps what arrived. */
async function finish(
  transfer: Transfer<SerialRx>,
  timeoutMs: number,
  interrupted: AbortSignal,
): Promise<Outcome> {
  try {
    // For readUntilIdle, `transferred` is what arrived before the line went idle.
    const { buffer, transferred } = await transfer.wait({ timeoutMs, signal: interrupted });
    return { buffer, received: transferred, timedOut: false, interrupted: false };
  } catch (error) {
    if (!(error instanceof TransferTimeoutError) && !(error instanceof TransferAbortedError)) throw error;
    const { buffer, transferred } = await transfer.stop();
    return {
      buffer,
      received: transferred,
      timedOut: error instanceof TransferTimeoutError,
      interrupted: error instanceof TransferAbortedError,
    };
  }
}
