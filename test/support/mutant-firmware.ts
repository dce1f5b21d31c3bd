/**
 * Deliberately broken bridge firmware, built in the test from this
 * checkout's sources with a few edits: the proof that a safety net (the
 * watchdog, a strict rule of the virtual board) catches the defect it is
 * there for. Each edit must match its source exactly once, so a mutant
 * whose target code moved fails loudly instead of building the unmodified
 * firmware. Builds are cached by content under the system's temp dir.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIRMWARE_DIR = fileURLToPath(new URL('../../firmware-bridge/', import.meta.url));
const COPIED = ['Makefile', 'linker.ld', 'src', 'tools'];
const CACHE = join(tmpdir(), 'dma-bridge-mutant-firmware');

export interface SourceEdit {
  /** Path under firmware-bridge/, e.g. 'src/board.c'. */
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesUnder(join(path, name)));
}

function sourceDigest(edits: readonly SourceEdit[]): string {
  const hash = createHash('sha256');
  for (const top of COPIED)
    for (const file of filesUnder(join(FIRMWARE_DIR, top))) {
      hash.update(relative(FIRMWARE_DIR, file));
      hash.update(readFileSync(file));
    }
  hash.update(JSON.stringify(edits));
  return hash.digest('hex').slice(0, 16);
}

/** Builds (or takes from the cache) the firmware with `edits` applied; returns its ELF. */
export function buildMutantFirmware(name: string, edits: readonly SourceEdit[]): Uint8Array {
  const done = join(CACHE, `${name}-${sourceDigest(edits)}`);
  const elf = join(done, 'build', 'bridge.elf');
  if (!existsSync(elf)) {
    mkdirSync(CACHE, { recursive: true });
    const work = mkdtempSync(join(CACHE, `${name}-build-`));
    for (const top of COPIED) cpSync(join(FIRMWARE_DIR, top), join(work, top), { recursive: true });
    for (const edit of edits) {
      const path = join(work, edit.file);
      const text = readFileSync(path, 'utf8');
      const count = text.split(edit.find).length - 1;
      if (count !== 1)
        throw new Error(
          `mutant ${name}: ${edit.file} holds ${count} copies of ${JSON.stringify(edit.find)}, expected 1`,
        );
      writeFileSync(
        path,
        text.replace(edit.find, () => edit.replace),
      );
    }
    try {
      execFileSync('make', ['-s', 'build/bridge.elf'], { cwd: work, stdio: 'pipe' });
    } catch (error) {
      const e = error as { stderr?: Buffer; stdout?: Buffer };
      throw new Error(
        `mutant ${name} did not build:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`,
      );
    }
    // Another worker may have finished the same mutant first: either copy is good.
    try {
      renameSync(work, done);
    } catch {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return new Uint8Array(readFileSync(elf));
}
