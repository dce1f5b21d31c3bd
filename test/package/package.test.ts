/**
 * What a user gets: the package as `npm pack` makes it, installed with
 * production dependencies only into an empty project, with no ARM
 * toolchain on PATH. Its CLI runs the virtual board from the shipped
 * firmware and lists ports; its modules import from plain Node; its
 * declarations type-check a consumer.
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage } from '../browser/support/browser.ts';
import { serveDirectory } from '../browser/support/static-server.ts';

const run = promisify(execFile);

/** The ```ts blocks of README.md's "Install it in your project": the first transfer from Node, then from a browser. */
async function readmeQuickStart(): Promise<{ node: string; browser: string }> {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const section = readme.split(/^## Install it in your project\s*$/m)[1]?.split(/^## /m)[0] ?? '';
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  if (blocks.length !== 2)
    throw new Error(`expected 2 ts blocks in the README's install section, found ${blocks.length}`);
  return { node: blocks[0]!, browser: blocks[1]! };
}
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

// Each test reads what beforeAll installed; the type check, the slowest, runs beside the others.
describe.concurrent('the packed package, installed with --omit=dev', () => {
  it('has no ARM toolchain and no TypeScript loader to lean on', async () => {
    await expect(run('arm-none-eabi-gcc', ['--version'], { env: bareEnv })).rejects.toThrow();
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
  });

  it('ships what a user needs and no tests, sources or test support', async () => {
    const root = join(app, 'node_modules', 'dma-bridge');
    const files = (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => relative(root, join(entry.parentPath, entry.name)).replaceAll('\\', '/'));
    expect(new Set(files.map((f) => f.split('/')[0]))).toEqual(
      new Set(['dist', 'node', 'package.json', 'README.md', 'LICENSE', 'PROTOCOL.md']),
    );
    expect(files.filter((f) => f.startsWith('node/'))).toEqual(['node/bin/dma-bridge.js']);
    expect(files.filter((f) => /\.test\.|test-support|test-firmware/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // The browser's virtual board starts its worker from the compiled file.
    expect(files).toContain('dist/web/src/worker/board.worker.js');
    const transport = await readFile(join(root, 'dist/web/src/transports/virtual-board.js'), 'utf8');
    expect(transport).toContain("new URL('../worker/board.worker.js', import.meta.url)");
    for (const entry of ['driver', 'node', 'emulator', 'web']) {
      for (const ext of ['js', 'js.map', 'd.ts']) expect(files).toContain(`dist/${entry}/index.${ext}`);
    }
  });

  it('ships the firmware images with a manifest naming the versions of protocol.h and the link rate', async () => {
    const dir = join(app, 'node_modules', 'dma-bridge', 'dist', 'firmware-bridge', 'build');
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    const header = await readFile(join(repo, 'firmware-bridge', 'src', 'core', 'protocol.h'), 'utf8');
    const define = (name: string) => Number(new RegExp(`#define ${name}\\s+(\\d+)u?`).exec(header)?.[1]);
    expect(manifest).toMatchObject({
      protocolVersion: define('PROTO_VERSION'),
      firmwareVersion: ['MAJOR', 'MINOR', 'PATCH'].map((p) => define(`FW_VERSION_${p}`)).join('.'),
      linkBaud: 115200,
      flashAddress: '0x08000000',
    });
    for (const f of ['bridge.elf', 'bridge.bin', 'bridge.hex', 'bridge-stripped.elf']) {
      const bytes = await readFile(join(dir, f));
      expect(manifest.images[f]).toEqual({
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
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
    const manifest = JSON.parse(
      await readFile(join(repo, 'firmware-bridge', 'build', 'manifest.json'), 'utf8'),
    );
    expect(JSON.parse(stdout)).toMatchObject({
      virtual: true,
      firmwareVersion: manifest.firmwareVersion,
      protocolVersion: manifest.protocolVersion,
      devId: 0x460,
    });
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
        "import { readBridgeFirmware, VirtualBoard } from 'dma-bridge/emulator';",
        'await (await loadVirtualBoard()).dispose();',
        'const vb = new VirtualBoard({ firmware: await readBridgeFirmware() });',
        'vb.start();',
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
    // A project that resolves its own packages with a "source" condition
    // still gets this package's JavaScript, not sources it does not ship.
    const withSource = await run('node', ['--conditions=source', 'check.mjs'], { cwd: app, env: bareEnv });
    expect(JSON.parse(withSource.stdout)).toEqual({ transferred: 5, same: true, vb: true });
  });

  it("runs the README's first transfer from Node, on the virtual board instead of /dev/ttyACM0", async () => {
    const { node } = await readmeQuickStart();
    const port = "await SerialportTransport.open('/dev/ttyACM0')";
    expect(node).toContain(port);
    const script = [
      "import { loadVirtualBoard } from 'dma-bridge/node';",
      'const vb = await loadVirtualBoard();',
      node.replace(port, 'vb.hostPort()'),
      'console.log(JSON.stringify(String.fromCharCode(...vb.peer.received().map((r) => r.byte))));',
      'await board.close();',
      'await vb.dispose();',
    ].join('\n');
    await writeFile(join(app, 'readme-node.mjs'), script);
    const { stdout } = await run('node', ['readme-node.mjs'], { cwd: app, env: bareEnv });
    expect(JSON.parse(stdout)).toBe('hello\n');
  });

  it('type-checks a TypeScript consumer and the README examples against the shipped declarations', async () => {
    const { node, browser } = await readmeQuickStart();
    await mkdir(join(app, 'src'), { recursive: true });
    await writeFile(join(app, 'src', 'readme-node.ts'), node);
    await writeFile(join(app, 'src', 'readme-browser.ts'), browser);
    await mkdir(join(app, 'src'), { recursive: true });
    await writeFile(
      join(app, 'src', 'consumer.ts'),
      [
        "import { type Board, type DmaBuffer, MovedError, Serial1, TransferInDoubtError } from 'dma-bridge/driver';",
        "import { readBridgeFirmware, VirtualBoard } from 'dma-bridge/emulator';",
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
        'export const used = [MovedError, TransferInDoubtError, VirtualBoard, readBridgeFirmware, loadVirtualBoard, SerialportTransport, openWebSerial, requestWebSerialPort];',
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
          // A project whose own packages export a "source" condition must
          // still get this package's declarations, not sources it lacks.
          customConditions: ['source'],
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

  it("runs a first transfer in a browser: a page bundled by Vite from the package's web entry, on the virtual board in its worker", async () => {
    const site = join(app, 'web');
    await mkdir(site, { recursive: true });
    await writeFile(
      join(site, 'index.html'),
      '<!doctype html><link rel="icon" href="data:,"><script type="module" src="./main.js"></script>\n',
    );
    await writeFile(
      join(site, 'main.js'),
      [
        "import { Board, Serial1 } from 'dma-bridge';",
        "import { loadBundledFirmware, VirtualBoardTransport } from 'dma-bridge/web';",
        'const transport = await VirtualBoardTransport.start({ firmware: await loadBundledFirmware() });',
        'const board = await Board.open(transport);',
        'const serial = await Serial1.take(board, { baudRate: 115_200 });',
        'const buf = board.alloc(6);',
        "await buf.write(new TextEncoder().encode('hello\\n'));",
        'await serial.writeAll(buf).wait();',
        'const { major, minor, patch } = board.hello.firmwareVersion;',
        'const peer = new TextDecoder().decode(transport.peer.received());',
        'await board.close();',
        "window.result = { firmwareVersion: [major, minor, patch].join('.'), peer };",
      ].join('\n'),
    );
    await build({
      root: site,
      configFile: false,
      logLevel: 'silent',
      build: { outDir: 'dist', target: 'es2022' },
    });
    const assets = await readdir(join(site, 'dist', 'assets'));
    // The site carries the firmware without its debug sections, never the full ELF.
    expect(assets.filter((f) => f.endsWith('.elf'))).toEqual([
      expect.stringMatching(/^bridge-stripped-.+\.elf$/),
    ]);

    const server = await serveDirectory(join(site, 'dist'));
    const browser = await launchChromium();
    try {
      const { page, errors } = await openPage(browser);
      await page.goto(server.url);
      const result = await page.waitForFunction(() => (window as { result?: unknown }).result, undefined, {
        timeout: 20_000,
      });
      const manifest = JSON.parse(
        await readFile(join(repo, 'firmware-bridge', 'build', 'manifest.json'), 'utf8'),
      );
      expect(await result.jsonValue()).toEqual({
        firmwareVersion: manifest.firmwareVersion,
        peer: 'hello\n',
      });
      expect(errors).toEqual([]);
      expect(server.notFound).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
