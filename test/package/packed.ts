/**
 * The package as a user gets it, made once per test run and shared by every
 * file that needs it: `npm pack` (which builds dist/), then the tarball
 * installed into two empty projects, one with the optional dependencies
 * (serialport) and one with `--omit=optional`. Test files run in several
 * worker processes, so the first to ask builds under a lock directory and
 * the others wait for its result.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export const repo = fileURLToPath(new URL('../..', import.meta.url));

export interface Packed {
  readonly tarball: string;
  /** Installed with `npm install --omit=dev`: what `npm install <tarball>` gives. */
  readonly app: string;
  /** Installed with `--omit=dev --omit=optional`: no serialport. */
  readonly lean: string;
  /** PATH with node alone on it: no compiler, no ARM toolchain. */
  readonly bareEnv: NodeJS.ProcessEnv;
}

const PREFIX = 'dma-bridge-packed-';
/** One directory per test run: the workers of one run share their parent process. */
const dir = join(tmpdir(), `${PREFIX}${process.ppid}`);
const MAX_WAIT_MS = 240_000;

let mine: Promise<Packed> | undefined;

export function packedPackage(): Promise<Packed> {
  mine ??= obtain();
  return mine;
}

async function obtain(): Promise<Packed> {
  removeStale();
  try {
    await mkdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return waitForOther();
  }
  try {
    const packed = await build();
    await writeFile(join(dir, 'ready.json'), JSON.stringify(packed));
    return packed;
  } catch (error) {
    await writeFile(join(dir, 'failed.txt'), String(error instanceof Error ? error.message : error));
    throw error;
  }
}

async function waitForOther(): Promise<Packed> {
  const until = Date.now() + MAX_WAIT_MS;
  while (Date.now() < until) {
    if (existsSync(join(dir, 'ready.json')))
      return JSON.parse(await readFile(join(dir, 'ready.json'), 'utf8')) as Packed;
    if (existsSync(join(dir, 'failed.txt')))
      throw new Error(`packing failed in another worker: ${await readFile(join(dir, 'failed.txt'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no packed package in ${dir} after ${MAX_WAIT_MS / 1000} s`);
}

async function build(): Promise<Packed> {
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], {
    cwd: repo,
    maxBuffer: 1 << 24,
  });
  const tarball = join(dir, stdout.trim().split('\n').at(-1)!);
  const install = async (name: string, omit: string[]) => {
    const app = join(dir, name);
    await mkdir(app);
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }),
    );
    await run(
      'npm',
      [
        'install',
        ...omit.map((o) => `--omit=${o}`),
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
        tarball,
      ],
      { cwd: app },
    );
    return app;
  };
  const [app, lean] = await Promise.all([install('app', ['dev']), install('lean', ['dev', 'optional'])]);
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await symlink(process.execPath, join(bin, 'node'));
  return { tarball, app, lean, bareEnv: { HOME: process.env.HOME, PATH: bin } };
}

/** Directories of earlier runs whose process is gone. */
function removeStale(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length));
    if (!Number.isInteger(pid) || pid === process.ppid || alive(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The fenced blocks of README.md with the given language, in order, each with the heading it sits under. */
export function readmeBlocks(language: string): { heading: string; code: string }[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const blocks: { heading: string; code: string }[] = [];
  let heading = '';
  let inside: { lang: string; lines: string[] } | undefined;
  for (const line of readme.split('\n')) {
    if (inside) {
      if (line.startsWith('```')) {
        if (inside.lang === language) blocks.push({ heading, code: `${inside.lines.join('\n')}\n` });
        inside = undefined;
      } else inside.lines.push(line);
    } else if (line.startsWith('```')) inside = { lang: line.slice(3).trim(), lines: [] };
    else if (/^#{2,3} /.test(line)) heading = line.replace(/^#+ /, '');
  }
  return blocks;
}
