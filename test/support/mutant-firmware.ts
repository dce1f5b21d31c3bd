/**
 * Deliberately broken bridge firmware, built in the test from this
 * checkout's sources with a few edits: the proof that a safety net (the
 * watchdog, a strict rule of the virtual board) catches the defect it is
 * there for. Each edit must match its source exactly once, so a mutant
 * whose target code moved fails loudly instead of building the unmodified
 * firmware. Builds are cached by content under the system's temp dir.
 */
import { execFile, execFileSync } from 'node:child_process';
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
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

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

/** The cached build of a mutant, or where to build it: the edited sources are copied there. */
function prepare(name: string, edits: readonly SourceEdit[]): { elf: string; done: string; work?: string } {
  const done = join(CACHE, `${name}-${sourceDigest(edits)}`);
  const elf = join(done, 'build', 'bridge.elf');
  if (existsSync(elf)) return { elf, done };
  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(join(CACHE, `${name}-build-`));
  // With their times, and the checkout's own objects beside them: make then
  // rebuilds only what an edit touched (three times faster than from scratch).
  for (const top of COPIED)
    cpSync(join(FIRMWARE_DIR, top), join(work, top), { recursive: true, preserveTimestamps: true });
  for (const built of ['build/fw', 'build/config.h'])
    if (existsSync(join(FIRMWARE_DIR, built)))
      cpSync(join(FIRMWARE_DIR, built), join(work, built), { recursive: true, preserveTimestamps: true });
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
  return { elf, done, work };
}

function buildFailed(name: string, error: unknown): Error {
  const e = error as { stderr?: Buffer | string; stdout?: Buffer | string };
  return new Error(
    `mutant ${name} did not build:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`,
  );
}

/** Moves a finished build into the cache; another worker may have finished the same mutant first: either copy is good. */
function keep(work: string, done: string): void {
  try {
    renameSync(work, done);
  } catch {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Builds (or takes from the cache) the firmware with `edits` applied; returns its ELF. */
export function buildMutantFirmware(name: string, edits: readonly SourceEdit[]): Uint8Array {
  const { elf, done, work } = prepare(name, edits);
  if (work) {
    try {
      execFileSync('make', ['-s', 'build/bridge.elf'], { cwd: work, stdio: 'pipe' });
    } catch (error) {
      throw buildFailed(name, error);
    }
    keep(work, done);
  }
  return new Uint8Array(readFileSync(elf));
}

/**
 * Builds every mutant of a table at once (one `make` each, in parallel),
 * so a test file pays for the slowest build rather than for all of them;
 * `buildMutantFirmware` then finds each in the cache.
 */
export async function buildMutantFirmwares(
  table: Readonly<Record<string, readonly SourceEdit[]>>,
): Promise<void> {
  await Promise.all(
    Object.entries(table).map(async ([mutant, edits]) => {
      const name = mutantName(mutant);
      const { done, work } = prepare(name, edits);
      if (!work) return;
      try {
        await execFileAsync('make', ['-s', 'build/bridge.elf'], { cwd: work });
      } catch (error) {
        throw buildFailed(name, error);
      }
      keep(work, done);
    }),
  );
}

/** A mutant's description as a cache name: 'GPIOA clock never enabled' → 'GPIOA-clock-never-enabled'. */
export function mutantName(description: string): string {
  return description.replace(/\W+/g, '-');
}
