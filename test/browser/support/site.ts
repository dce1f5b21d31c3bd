/**
 * Builds the console exactly as `npm run build` does (firmware first,
 * then Vite with the site's own config). The browser test files share one
 * build per content of its inputs (the console, the driver and emulator it
 * bundles, the firmware): the first file to need it builds it, under a
 * lock, the others wait for it and serve the same read-only directory.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const FIRMWARE_ELF = join(REPO_ROOT, 'firmware-bridge/build/bridge-stripped.elf');

/** What the site is made of: a change to any of these is a new build. */
const INPUTS = ['web', 'driver', 'emulator', 'package.json'];
const FIRMWARE_IMAGES = ['bridge-stripped.elf', 'bridge.bin'];
const BUILD_WAIT_MS = 120_000;

export function buildFirmware(): void {
  execFileSync('make', ['-C', join(REPO_ROOT, 'firmware-bridge'), '--no-print-directory', '-s'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export interface BuiltSite {
  readonly dir: string;
  remove(): Promise<void>;
}

export async function buildSite(): Promise<BuiltSite> {
  buildFirmware();
  const dir = join(tmpdir(), `dma-console-site-${inputsKey()}`);
  const lock = `${dir}.lock`;
  // Shared and read-only: nothing to remove per test file.
  const site = { dir, remove: async () => {} };
  if (existsSync(join(dir, 'index.html'))) return site;
  try {
    mkdirSync(lock);
  } catch {
    await waitFor(() => existsSync(join(dir, 'index.html')), `the console's build in ${dir}`);
    return site;
  }
  try {
    const staging = `${dir}.${process.pid}`;
    await build({
      configFile: join(REPO_ROOT, 'web/vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: staging, emptyOutDir: true },
    });
    renameSync(staging, dir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return site;
}

/** A digest of the inputs' paths, sizes and modification times, and the firmware images' bytes. */
function inputsKey(): string {
  const hash = createHash('sha256');
  const walk = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
        walk(join(path, name));
      }
    } else {
      hash.update(`${path}\0${stat.size}\0${stat.mtimeMs}\n`);
    }
  };
  for (const input of INPUTS) walk(join(REPO_ROOT, input));
  for (const image of FIRMWARE_IMAGES)
    hash.update(readFileSync(join(REPO_ROOT, 'firmware-bridge/build', image)));
  return hash.digest('hex').slice(0, 16);
}

async function waitFor(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + BUILD_WAIT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what} did not finish within ${BUILD_WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
