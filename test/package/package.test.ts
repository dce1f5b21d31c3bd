/**
 * What a user gets: the package as `npm pack` makes it, installed with
 * production dependencies only into an empty project, with no ARM
 * toolchain on PATH. Its CLI runs the virtual board from the shipped
 * firmware and lists ports; its modules import from plain Node; its
 * declarations type-check a consumer.
 */

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build } from 'vite';
import { beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage } from '../browser/support/browser.ts';
import { serveDirectory } from '../browser/support/static-server.ts';
import { packedPackage, readmeBlocks, repo, run } from './packed.ts';

let app: string;
let lean: string;
let bareEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ app, lean, bareEnv } = await packedPackage());
}, 240_000);

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

  it('loads with require() from CommonJS, as Node >= 20.19 loads ES modules', async () => {
    await writeFile(
      join(app, 'check-require.cjs'),
      [
        "const { Board } = require('dma-bridge');",
        "const { openVirtualBoard } = require('dma-bridge/node');",
        'console.log(JSON.stringify([typeof Board.open, typeof openVirtualBoard]));',
      ].join('\n'),
    );
    const { stdout } = await run('node', ['check-require.cjs'], { cwd: app, env: bareEnv });
    expect(JSON.parse(stdout)).toEqual(['function', 'function']);
  });

  it('works installed with --omit=optional: no serialport, a working driver and CLI, a plain message for serial ports', async () => {
    expect(existsSync(join(lean, 'node_modules', 'serialport'))).toBe(false);
    expect(existsSync(join(lean, 'node_modules', '@serialport'))).toBe(false);
    expect(existsSync(join(lean, 'node_modules', '@types'))).toBe(false);
    await writeFile(
      join(lean, 'check.mjs'),
      [
        "import { Board, Serial1 } from 'dma-bridge';",
        "import * as web from 'dma-bridge/web';",
        "import { openVirtualBoard, SerialportTransport } from 'dma-bridge/node';",
        'const port = await openVirtualBoard();',
        'const board = await Board.open(port);',
        'const serial = await Serial1.take(board, { baudRate: 115200 });',
        'const buf = board.alloc(2);',
        "await buf.write(new TextEncoder().encode('ok'));",
        'const { transferred } = await serial.writeAll(buf).wait();',
        'await board.close();',
        "const missing = await SerialportTransport.open('/dev/ttyACM0').then(() => 'opened', (e) => e.name + ': ' + e.message);",
        'console.log(JSON.stringify({ transferred, web: typeof web.openWebSerial, missing }));',
      ].join('\n'),
    );
    const { stdout, stderr } = await run('node', ['check.mjs'], { cwd: lean, env: bareEnv });
    expect(stderr).toBe('');
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ transferred: 2, web: 'function' });
    expect(result.missing).toMatch(/^SerialportMissingError: .*npm install serialport/);
    const cli = join(lean, 'node_modules', '.bin', 'dma-bridge');
    const info = await run(cli, ['info', '--json'], { cwd: lean, env: bareEnv });
    expect(JSON.parse(info.stdout)).toMatchObject({ virtual: true, devId: 0x460 });
    const opened = await run(cli, ['info', '--port', '/dev/ttyACM0'], { cwd: lean, env: bareEnv }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(opened).toMatchObject({ code: 1 });
    expect((opened as { stderr: string }).stderr).toMatch(/npm install serialport/);
  });

  it("runs a first transfer in a browser: a page bundled by Vite from the package's web entry, on the virtual board in its worker", async () => {
    const site = join(app, 'web');
    await mkdir(site, { recursive: true });
    await writeFile(
      join(site, 'index.html'),
      '<!doctype html><link rel="icon" href="data:,"><script type="module" src="./main.js"></script>\n',
    );
    // The README's block, as written, then a mark that it reached its end.
    const block = readmeBlocks('ts').find((b) => b.code.includes('VirtualBoardTransport.start'));
    expect(block).toBeDefined();
    await writeFile(join(site, 'main.js'), `${block?.code}\nwindow.result = { done: true };\n`);
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
      const logged: string[] = [];
      page.on('console', (message) => logged.push(message.text()));
      await page.goto(server.url);
      const result = await page.waitForFunction(() => (window as { result?: unknown }).result, undefined, {
        timeout: 20_000,
      });
      expect(await result.jsonValue()).toEqual({ done: true });
      expect(logged).toContain(JSON.stringify('hello\n'));
      expect(errors).toEqual([]);
      expect(server.notFound).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
