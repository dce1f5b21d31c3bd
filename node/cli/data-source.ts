/**
 * What a command sends: a text argument, bytes in hex (options.ts checks
 * them while parsing the command line), or a file's contents, read as it is
 * sent.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export type DataSource =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'file'; readonly path: string };

export class InputFileError extends Error {
  override name = 'InputFileError';
}

/** A source read a piece at a time: a file, stdin or a device, in bounded memory. */
export interface StreamedSource {
  readonly chunks: AsyncIterator<Uint8Array>;
  /** Bytes in all, when known (a regular file, given bytes); undefined for stdin and devices. */
  readonly size: number | undefined;
  close(): void;
}

/** Pieces this size are read from a file or stdin at a time. */
const READ_PIECE = 64 * 1024;

/**
 * Opens a source to be read as it is sent. Nothing is read ahead of the
 * consumer but one piece, so `--file /dev/zero` streams for as long as it
 * is allowed to in constant memory.
 */
export async function openSource(source: DataSource): Promise<StreamedSource> {
  if (source.kind === 'bytes') {
    const bytes = source.bytes;
    async function* once(): AsyncGenerator<Uint8Array> {
      yield bytes;
    }
    return { chunks: once(), size: bytes.length, close: () => {} };
  }
  if (source.path === '-') {
    const iterator = process.stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    return {
      chunks: mapChunks(iterator),
      size: undefined,
      close: () => process.stdin.destroy(),
    };
  }
  const info = await stat(source.path).catch((error: NodeJS.ErrnoException) => {
    const why = error.code === 'ENOENT' ? 'no such file' : (error.code ?? String(error));
    throw new InputFileError(`cannot read --file ${source.path}: ${why}`, { cause: error });
  });
  if (info.isDirectory()) throw new InputFileError(`cannot read --file ${source.path}: it is a directory`);
  const stream = createReadStream(source.path, { highWaterMark: READ_PIECE });
  return {
    chunks: mapChunks(stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>),
    size: info.isFile() ? info.size : undefined,
    close: () => stream.destroy(),
  };
}

async function* mapChunks(it: AsyncIterator<Buffer>): AsyncGenerator<Uint8Array> {
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength);
  }
}
