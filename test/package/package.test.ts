/**
 * What a user gets: the package as `npm pack` makes it, installed with
 * production dependencies only into an empty project, with no ARM
 * toolchain on PATH. Its CLI runs the virtual board from the shipped
 * firmware and lists ports; its modules import from plain Node; its
 * declarations type-check a consumer.
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
let work: string;
let app: string;
/** PATH with node alone on it: no compiler, no ARM toolchain. */
let bareEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dma-bridge-pack-'));
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work], {
    cwd: repo,
    maxBuffer: 1 << 24,
  });
  const tarball = join(work, stdout.trim().split('\n').at(-1)!);
  app = join(work, 'app');
  await mkdir(app);
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await run(
    'npm',
    ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball],
    {
      cwd: app,
    },
  );
  const bin = join(work, 'bin');
  await mkdir(bin);
  await symlink(process.execPath, join(bin, 'node'));
  bareEnv = { HOME: process.env.HOME, PATH: bin };
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed package, installed with --omit=dev', () => {
  it('has no ARM toolchain and no TypeScript loader to lean on', async () => {
    await expect(run('arm-none-eabi-gcc', ['--version'], { env: bareEnv })).rejects.toThrow();
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
  });

  it('ships the firmware images with a manifest naming the versions and the link rate', async () => {
    const dir = join(app, 'node_modules', 'dma-bridge', 'dist', 'firmware-bridge', 'build');
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ protocolVersion: 2, linkBaud: 115200 });
    expect(manifest.firmwareVersion).toMatch(/^2\.\d+\.\d+$/);
    for (const f of ['bridge.elf', 'bridge.bin', 'bridge.hex', 'bridge-stripped.elf']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
      expect(manifest.images[f].sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(manifest.images['bridge-stripped.elf'].bytes).toBeLessThan(
      manifest.images['bridge.elf'].bytes / 2,
    );
  });

  it('runs `dma-bridge info --json` on the virtual board from the shipped firmware', async () => {
    const { stdout } = await run(join(app, 'node_modules', '.bin', 'dma-bridge'), ['info', '--json'], {
      cwd: app,
      env: bareEnv,
    });
    expect(JSON.parse(stdout)).toMatchObject({ virtual: true, protocolVersion: 2, devId: 0x460 });
  });

  it('runs `dma-bridge list --json`', async () => {
    const { stdout } = await run(join(app, 'node_modules', '.bin', 'dma-bridge'), ['list', '--json'], {
      cwd: app,
      env: bareEnv,
    });
    expect(Array.isArray(JSON.parse(stdout))).toBe(true);
  });

  it('imports from a plain .mjs file', async () => {
    await writeFile(
      join(app, 'check.mjs'),
      [
        "import { Board, Serial1 } from 'dma-bridge/driver';",
        "import * as root from 'dma-bridge';",
        "import { loadVirtualBoard } from 'dma-bridge/node';",
        "import { VirtualBoard } from 'dma-bridge/emulator';",
        'const vb = await loadVirtualBoard();',
        'const board = await Board.open(vb.hostPort());',
        'const serial = await Serial1.take(board, { baudRate: 115200 });',
        'const buf = board.alloc(5);',
        "await buf.write(new TextEncoder().encode('hello'));",
        'const { transferred } = await serial.writeAll(buf).wait();',
        'console.log(JSON.stringify({ transferred, same: root.Board === Board, vb: vb instanceof VirtualBoard }));',
        'await board.close();',
        'await vb.dispose();',
      ].join('\n'),
    );
    const { stdout } = await run('node', ['check.mjs'], { cwd: app, env: bareEnv });
    expect(JSON.parse(stdout)).toEqual({ transferred: 5, same: true, vb: true });
  });

  it('type-checks a TypeScript consumer against the shipped declarations', async () => {
    await mkdir(join(app, 'src'), { recursive: true });
    await writeFile(
      join(app, 'src', 'consumer.ts'),
      [
        "import { type Board, type DmaBuffer, MovedError, Serial1, TransferInDoubtError } from 'dma-bridge/driver';",
        "import { VirtualBoard } from 'dma-bridge/emulator';",
        "import { loadVirtualBoard, SerialportTransport } from 'dma-bridge/node';",
        "import { openWebSerial, requestWebSerialPort } from 'dma-bridge/web';",
        'export async function hello(board: Board): Promise<number> {',
        '  const serial = await Serial1.take(board, { baudRate: 115_200 });',
        '  const buf: DmaBuffer = board.alloc(5);',
        "  await buf.write(new TextEncoder().encode('hello'));",
        '  const { transferred } = await serial.writeAll(buf).wait();',
        '  return transferred;',
        '}',
        '// @ts-expect-error a host array is not a DmaBuffer',
        'export const wrong = (s: Serial1) => s.writeAll(new Uint8Array(4));',
        'export const used = [MovedError, TransferInDoubtError, VirtualBoard, loadVirtualBoard, SerialportTransport, openWebSerial, requestWebSerialPort];',
      ].join('\n'),
    );
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          lib: ['ES2023', 'DOM', 'esnext.disposable'],
          types: ['node'],
          typeRoots: [join(repo, 'node_modules', '@types'), join(app, 'node_modules', '@types')],
        },
        include: ['src'],
      }),
    );
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', app]).catch((e: { stdout: string }) => e);
    expect('stdout' in result ? result.stdout : '').toBe('');
  });
});
