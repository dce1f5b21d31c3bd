/**
 * `dma-bridge write`: sends bytes out of USART1 by DMA. Up to one chunk
 * goes as a single writeAll (one buffer, one start); more goes through the
 * double-buffered streaming writer, with a progress display on stderr.
 */
import { z } from 'zod';
import { Serial1, type SerialTx, TransferAbortedError } from '../../../driver/api/index.ts';
import type { Board } from '../../../driver/board/board.ts';
import { byteSize, preview } from '../../../format/bytes.ts';
import type { Listening, PeerReceived } from '../../peers/index.ts';
import { defineCommand } from '../command.ts';
import { withBoard } from '../connect.ts';
import { type DataSource, openSource, type StreamedSource } from '../data-source.ts';
import { dmaReadBackOff } from '../dma-readback.ts';
import { interruption } from '../errors.ts';
import type { CliIo } from '../io.ts';
import { millis } from '../layout.ts';
import { hexInput, wholeNumber } from '../options.ts';
import { createProgress } from '../progress.ts';
import { commandPeer, SERIAL_DETAILS, serialOptionSpecs, serialOptionsSchema } from '../serial-options.ts';

const DEFAULT_CHUNK = 4096;
/** With --loopback the bytes are read back into one arena buffer beside the writer's two. */
const MAX_READBACK = 8192;

const schema = serialOptionsSchema
  .extend({
    _: z.array(z.string()).max(1, 'give the text as one argument (quote it)'),
    hex: hexInput.optional(),
    file: z.string().min(1, 'expected a file path, or - for stdin').optional(),
    'chunk-size': wholeNumber(16, 16_384, 'a chunk size in bytes').default(DEFAULT_CHUNK),
    'no-progress': z.boolean().default(false),
  })
  .refine((a) => [a._.length > 0, a.hex !== undefined, a.file !== undefined].filter(Boolean).length === 1, {
    message: 'give what to write: a TEXT argument, --hex BYTES or --file PATH (exactly one)',
  })
  .refine((a) => a._.length === 0 || (a._[0] ?? '').length > 0, {
    message: 'the text is empty: there is nothing to write',
    path: ['_', 0],
  })
  .transform((a) => {
    const source: DataSource =
      a.file !== undefined
        ? { kind: 'file', path: a.file }
        : { kind: 'bytes', bytes: a.hex ?? new TextEncoder().encode(a._[0] ?? '') };
    return { ...a, source };
  });

export const writeCommand = defineCommand({
  name: 'write',
  summary: 'send text, hex bytes or a file out of USART1 (PC4) by DMA',
  synopsis:
    '(TEXT | --hex BYTES | --file PATH) [--baud N] [--loopback] [--chunk-size N] [--no-progress] [--port PATH] [--json]',
  details: [
    'TEXT              the bytes of this text (UTF-8)',
    '--hex BYTES       bytes in hex: "48 65 6c 6c 6f", "48656c6c6f" or "0x48,0x65"',
    '--file PATH       the contents of a file (- for stdin)',
    ...SERIAL_DETAILS,
    '                  (the bytes are read back through RX and compared)',
    `--chunk-size N    up to N bytes go as one writeAll; more stream in N-byte DMA chunks (default ${DEFAULT_CHUNK})`,
    '--no-progress     no progress display on stderr for long writes',
  ],
  options: {
    ...serialOptionSpecs,
    hex: { type: 'string' },
    file: { type: 'string' },
    'chunk-size': { type: 'string' },
    'no-progress': { type: 'boolean' },
  },
  allowPositionals: true,
  schema,
  async run(args, io) {
    const source = await openSource(args.source);
    try {
      // Read ahead only what decides how to send: one chunk (then a single
      // writeAll), or with --loopback the bytes to compare with what comes back.
      const chunkSize = args['chunk-size'];
      const head = await readAhead(source, Math.max(chunkSize, args.loopback ? MAX_READBACK : 0) + 1);
      if (head.bytes.length === 0 && head.ended) {
        throw new Error(`--file ${args.file ?? ''} is empty: there is nothing to write`);
      }
      const total = source.size ?? (head.ended ? head.bytes.length : undefined);
      const whole = head.ended ? head.bytes : undefined;
      await withBoard(args, io, async (board, connection) => {
        const serial = await Serial1.take(board, { baudRate: args.baud, onWarning: (m) => io.note(m) });
        let tx: Serial1 | SerialTx = serial;
        let listening: Listening | undefined;
        if (args.loopback && whole === undefined) {
          io.note(
            `--loopback: more than ${byteSize(MAX_READBACK)} to write; what comes back is not compared`,
          );
        } else if (args.loopback && whole) {
          const halves = serial.split();
          tx = halves.tx;
          listening = await commandPeer(connection, board, { rx: halves.rx }, true)?.listen(whole.length, {
            timeoutMs: wireTimeMs(whole.length, args.baud) * 2 + 5000,
          });
        } else if (total !== undefined) {
          // The virtual peer reports what it heard, when the length is known.
          listening = await commandPeer(connection, board, {}, false)?.listen(total, {
            timeoutMs: wireTimeMs(total, args.baud) * 2 + 5000,
          });
        }

        const vb = connection.virtualBoard;
        const virtualStart = vb?.nowNs;
        const started = performance.now();
        const streamed = whole === undefined || whole.length > chunkSize;
        let sent: number;
        try {
          sent = streamed
            ? await stream(tx, head.bytes, source, { chunkSize, total, progress: !args['no-progress'] }, io)
            : await writeOnce(board, tx, whole, args.baud, io);
        } catch (error) {
          if (!(error instanceof WriteStopped)) throw error;
          // Said only once the board's channels read back off; the count is from its CNDTR.
          const off = await dmaReadBackOff(board);
          throw interruption(
            `the board stopped the DMA after ${error.sent} of ${error.of} bytes had gone out (${off})`,
            { board: connection.description, bytes: error.sent, baudRate: args.baud },
          );
        }
        const elapsedMs = performance.now() - started;
        const virtualMs = vb && virtualStart !== undefined ? (vb.nowNs - virtualStart) / 1e6 : undefined;
        const heard = listening ? await listening.received : undefined;
        const transfers = streamed ? Math.ceil(sent / chunkSize) : 1;
        const readBackOk = args.loopback && heard && whole ? sameBytes(heard.bytes, whole) : undefined;

        if (args.json) {
          io.out(
            JSON.stringify({
              board: connection.description,
              bytes: sent,
              baudRate: args.baud,
              method: streamed ? 'streamWriter' : 'writeAll',
              transfers,
              elapsedMs: round(elapsedMs),
              virtualMs: virtualMs === undefined ? null : round(virtualMs),
              peer: heard && !args.loopback ? peerJson(heard) : null,
              readBack: readBackOk === undefined ? null : { bytes: heard?.bytes.length, matches: readBackOk },
            }),
          );
        } else {
          const how = streamed
            ? `${transfers} DMA transfers of up to ${byteSize(chunkSize)} (streaming writer)`
            : 'one DMA transfer (writeAll)';
          const virtual = virtualMs === undefined ? '' : `, ${millis(virtualMs)} of virtual time`;
          io.out(
            `wrote ${sent} bytes to USART1 at ${args.baud} baud in ${how}: ${millis(elapsedMs)}${virtual}`,
          );
          if (heard && !args.loopback) io.out(peerLine(heard));
          if (readBackOk === true) io.out(`read back ${sent} bytes through RX (loopback): identical`);
        }
        if (readBackOk === false) {
          throw new Error(
            `the bytes read back through RX differ from those written (${firstDifference(heard?.bytes, whole!)}); ` +
              'check the PC4–PC5 jumper and that nothing else drives PC5',
          );
        }
      });
    } finally {
      source.close();
    }
    return undefined;
  },
});

/** Ctrl-C stopped the write: `sent` bytes went out of `of` (a count, or "N read"). */
class WriteStopped extends Error {
  constructor(
    readonly sent: number,
    readonly of: string,
  ) {
    super(`the write was stopped after ${sent} bytes`);
  }
}

/** The first `limit` bytes of a source (fewer if it ends first), and whether it ended. */
async function readAhead(
  source: StreamedSource,
  limit: number,
): Promise<{ bytes: Uint8Array; ended: boolean }> {
  const pieces: Uint8Array[] = [];
  let length = 0;
  while (length < limit) {
    const r = await source.chunks.next();
    if (r.done) return { bytes: concat(pieces, length), ended: true };
    pieces.push(r.value);
    length += r.value.length;
  }
  return { bytes: concat(pieces, length), ended: false };
}

function concat(pieces: readonly Uint8Array[], length: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Time the bytes take on the wire, 10 bits each (8N1). */
function wireTimeMs(bytes: number, baud: number): number {
  return (bytes * 10 * 1000) / baud;
}

/** One writeAll; Ctrl-C stops it (confirmed by the board) and says how much went out. */
async function writeOnce(
  board: Board,
  tx: Serial1 | SerialTx,
  data: Uint8Array,
  baud: number,
  io: CliIo,
): Promise<number> {
  const buffer = board.alloc(data.length, { align: 1 });
  await buffer.write(data);
  const transfer = tx.writeAll(buffer);
  try {
    const { buffer: back } = await transfer.wait({
      timeoutMs: wireTimeMs(data.length, baud) * 2 + 5000,
      signal: io.interrupted,
    });
    back.free();
    return data.length;
  } catch (error) {
    if (!(error instanceof TransferAbortedError)) throw error;
    const { transferred } = await transfer.stop();
    throw new WriteStopped(transferred, `${data.length}`);
  }
}

/**
 * Streams `head`, then the rest of the source as it is read, through the
 * streaming writer: memory stays bounded whatever the length, since the
 * source is read only as fast as the writer takes it. Ctrl-C aborts the
 * writer (the board confirms the channel off) and says how much went out.
 */
async function stream(
  tx: Serial1 | SerialTx,
  head: Uint8Array,
  source: StreamedSource,
  options: { chunkSize: number; total: number | undefined; progress: boolean },
  io: CliIo,
): Promise<number> {
  const progress = options.progress
    ? createProgress(io, { label: 'write', total: options.total })
    : undefined;
  const writer = tx.streamWriter({
    chunkSize: options.chunkSize,
    ...(progress && { onProgress: (n) => progress.update(n) }),
  });
  let aborting: Promise<{ bytesSent: number }> | undefined;
  const onInterrupt = () => {
    aborting ??= writer.abort();
  };
  io.interrupted.addEventListener('abort', onInterrupt, { once: true });
  if (io.interrupted.aborted) onInterrupt();
  let read = head.length;
  try {
    await writer.write(head);
    for (;;) {
      if (aborting) break;
      const r = await source.chunks.next();
      if (r.done) break;
      read += r.value.length;
      await writer.write(r.value);
    }
    if (!aborting) await writer.close();
  } catch (error) {
    if (!aborting) throw error;
  } finally {
    io.interrupted.removeEventListener('abort', onInterrupt);
    progress?.finish();
  }
  if (aborting) {
    const { bytesSent } = await aborting;
    throw new WriteStopped(bytesSent, options.total === undefined ? `${read} read` : `${options.total}`);
  }
  return writer.bytesWritten;
}

function peerJson(heard: PeerReceived) {
  const times = heard.virtualTimesNs;
  return {
    received: heard.bytes.length,
    hex: Buffer.from(heard.bytes).toString('hex'),
    firstByteNs: times?.[0] ?? null,
    lastByteNs: times?.at(-1) ?? null,
  };
}

/** What the virtual peer saw, with its virtual timestamps. */
function peerLine(heard: PeerReceived): string {
  const times = heard.virtualTimesNs;
  const span =
    times && times.length > 0
      ? `, t = ${millis((times[0] ?? 0) / 1e6)} .. ${millis((times.at(-1) ?? 0) / 1e6)} virtual`
      : '';
  return `the virtual peer received ${heard.bytes.length} bytes${span}: ${preview(heard.bytes)}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function firstDifference(a: Uint8Array | undefined, b: Uint8Array): string {
  if (!a) return 'nothing came back';
  const i = b.findIndex((x, k) => a[k] !== x);
  return `first at byte ${i}: 0x${(a[i] ?? 0).toString(16)} instead of 0x${(b[i] ?? 0).toString(16)}`;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
