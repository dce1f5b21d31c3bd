/**
 * Builds the console exactly as `npm run build` does (firmware first,
 * then Vite with the site's own config), into a directory of the test's
 * choosing so test files running in parallel never share an output.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const FIRMWARE_ELF = join(REPO_ROOT, 'firmware-bridge/build/bridge-stripped.elf');

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
  const dir = await mkdtemp(join(tmpdir(), 'dma-console-'));
  await build({
    configFile: join(REPO_ROOT, 'web/vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: dir, emptyOutDir: true },
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
