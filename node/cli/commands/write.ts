/**
 * `dma-bridge write`: sends bytes out of USART1 by DMA. Up to one chunk
 * goes as a single writeAll (one buffer, one start); more goes through the
 * double-buffered streaming writer, with a progress display on stderr.
 */
import { z } from 'zod';
import { Serial1, type SerialTx } from '../../../driver/api/index.ts';
import type { Board } from '../../../driver/board/board.ts';
import type { Listening, PeerReceived } from '../../peers/index.ts';
import { type DataSource, hexBytes, loadData } from '../bytes-input.ts';
import { defineCommand } from '../command.ts';
import { withBoard } from '../connect.ts';
import { byteSize, millis, preview } from '../format.ts';
import type { CliIo } from '../io.ts';
import { wholeNumber } from '../options.ts';
import { createProgress } from '../progress.ts';
import { commandPeer, SERIAL_DETAILS, serialOptionSpecs, serialOptionsSchema } from '../serial-options.ts';

const DEFAULT_CHUNK = 4096;
/** With --loopback the bytes are read back into one arena buffer beside the writer's two. */
const MAX_READBACK = 8192;

const schema = serialOptionsSchema
  .extend({
    _: z.array(z.string()).max(1, 'give the text as one argument (quote it)'),
    hex: hexBytes.optional(),
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
    const data = await loadData(args.source);
    if (data.length === 0) throw new Error(`--file ${args.file ?? ''} is empty: there is nothing to write`);
    await withBoard(args, io, async (board, connection) => {
      const serial = await Serial1.take(board, { baudRate: args.baud, onWarning: (m) => io.note(m) });
      let tx: Serial1 | SerialTx = serial;
      let listening: Listening | undefined;
      if (args.loopback && data.length > MAX_READBACK) {
        io.note(
          `--loopback: ${byteSize(data.length)} is more than the ${byteSize(MAX_READBACK)} read back; not compared`,
        );
      } else if (args.loopback) {
        const halves = serial.split();
        tx = halves.tx;
        listening = await commandPeer(connection, board, { rx: halves.rx }, true)?.listen(data.length, {
          timeoutMs: wireTimeMs(data.length, args.baud) * 2 + 5000,
        });
      } else {
        listening = await commandPeer(connection, board, {}, false)?.listen(data.length, {
          timeoutMs: wireTimeMs(data.length, args.baud) * 2 + 5000,
        });
      }

      const vb = connection.virtualBoard;
      const virtualStart = vb?.nowNs;
      const started = performance.now();
      const streamed = data.length > args['chunk-size'];
      if (streamed) {
        await stream(tx, data, args['chunk-size'], !args['no-progress'], io);
      } else {
        await writeOnce(board, tx, data, args.baud);
      }
      const elapsedMs = performance.now() - started;
      const virtualMs = vb && virtualStart !== undefined ? (vb.nowNs - virtualStart) / 1e6 : undefined;
      const heard = listening ? await listening.received : undefined;
      const transfers = streamed ? Math.ceil(data.length / args['chunk-size']) : 1;
      const readBackOk = args.loopback && heard ? sameBytes(heard.bytes, data) : undefined;

      if (args.json) {
        io.out(
          JSON.stringify({
            board: connection.description,
            bytes: data.length,
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
          ? `${transfers} DMA transfers of up to ${byteSize(args['chunk-size'])} (streaming writer)`
          : 'one DMA transfer (writeAll)';
        const virtual = virtualMs === undefined ? '' : `, ${millis(virtualMs)} of virtual time`;
        io.out(
          `wrote ${data.length} bytes to USART1 at ${args.baud} baud in ${how}: ${millis(elapsedMs)}${virtual}`,
        );
        if (heard && !args.loopback) io.out(peerLine(heard));
        if (readBackOk === true) io.out(`read back ${data.length} bytes through RX (loopback): identical`);
      }
      if (readBackOk === false) {
        throw new Error(
          `the bytes read back through RX differ from those written (${firstDifference(heard?.bytes, data)}); ` +
            'check the PC4–PC5 jumper and that nothing else drives PC5',
        );
      }
    });
    return undefined;
  },
});

/** Time the bytes take on the wire, 10 bits each (8N1). */
function wireTimeMs(bytes: number, baud: number): number {
  return (bytes * 10 * 1000) / baud;
}

async function writeOnce(
  board: Board,
  tx: Serial1 | SerialTx,
  data: Uint8Array,
  baud: number,
): Promise<void> {
  const buffer = board.alloc(data.length, { align: 1 });
  await buffer.write(data);
  const { buffer: back } = await tx
    .writeAll(buffer)
    .wait({ timeoutMs: wireTimeMs(data.length, baud) * 2 + 5000 });
  back.free();
}

async function stream(
  tx: Serial1 | SerialTx,
  data: Uint8Array,
  chunkSize: number,
  showProgress: boolean,
  io: CliIo,
): Promise<void> {
  const progress = showProgress ? createProgress(io, { label: 'write', total: data.length }) : undefined;
  const writer = tx.streamWriter({ chunkSize, ...(progress && { onProgress: (n) => progress.update(n) }) });
  try {
    await writer.pipeFrom(data);
  } finally {
    progress?.finish();
  }
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
