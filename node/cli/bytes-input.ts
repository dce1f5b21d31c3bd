/**
 * What a command sends: a text argument, bytes in hex, or a file's
 * contents. The hex form is checked while parsing the command line, so a
 * typo is a usage error before any board is opened.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/** "48 65 6c", "48656c", "0x48,0x65 0x6c": pairs of hex digits, any separators. */
export const hexBytes = z.string().transform((text, ctx) => {
  const digits = text.replace(/0x/gi, '').replace(/[\s,:;-]+/g, '');
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(digits)) {
    ctx.addIssue({ code: 'custom', message: 'expected bytes in hex, e.g. "48 65 6c 6c 6f"' });
    return z.NEVER;
  }
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
});

export type DataSource =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'file'; readonly path: string };

export class InputFileError extends Error {
  override name = 'InputFileError';
}

/** The bytes of a source; a file (or "-" for stdin) is read now. */
export async function loadData(source: DataSource): Promise<Uint8Array> {
  if (source.kind === 'bytes') return source.bytes;
  if (source.path === '-') return readStdin();
  try {
    return new Uint8Array(await readFile(source.path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? String(error));
    throw new InputFileError(`cannot read --file ${source.path}: ${why}`, { cause: error });
  }
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}
