/**
 * `dma-bridge flash` without a board: a directory named like the ST-LINK's
 * drive, fake st-flash and openocd executables that record how they were
 * run, and the virtual board served on TCP for the HELLO check.
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import { FIRMWARE_DIR } from '../package/package-root.ts';
import { runCaptured } from '../test-support/capture-io.ts';
import { loadVirtualBoard } from '../virtual/load-board.ts';
import { VirtualServer } from '../virtual-server.ts';

let vb: VirtualBoard;
let server: VirtualServer;
let work: string;
const saved = { roots: process.env.DMA_BRIDGE_DRIVE_ROOTS, path: process.env.PATH };

beforeAll(async () => {
  vb = await loadVirtualBoard();
  server = await VirtualServer.start(vb, { log: () => {} });
});
afterAll(async () => {
  await server?.close();
  await vb?.dispose();
});
afterEach(async () => {
  process.env.DMA_BRIDGE_DRIVE_ROOTS = saved.roots;
  process.env.PATH = saved.path;
  if (saved.roots === undefined) delete process.env.DMA_BRIDGE_DRIVE_ROOTS;
  if (work) await rm(work, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  work = await mkdtemp(join(tmpdir(), 'dma-bridge-flash-'));
  return work;
}

/** A fake tool that writes its arguments, one per line, to `<dir>/<name>.args`. */
async function fakeTool(dir: string, name: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const script = join(bin, name);
  await writeFile(
    script,
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${join(dir, `${name}.args`)}"\necho ${name} done\n`,
  );
  await chmod(script, 0o755);
  return bin;
}

describe('dma-bridge flash', () => {
  it('copies bridge.bin onto the ST-LINK drive, then checks that the board answers as that firmware', async () => {
    const root = await scratch();
    const drive = join(root, 'NOD_G071RB');
    await mkdir(drive);
    process.env.DMA_BRIDGE_DRIVE_ROOTS = root;
    const { code, stdout, stderr } = await runCaptured(['flash', '--port', server.addresses.tcp, '--json']);
    expect(stderr).toContain(`onto ${drive}`);
    expect(code).toBe(0);
    expect(await readFile(join(drive, 'bridge.bin'))).toEqual(
      await readFile(join(FIRMWARE_DIR, 'bridge.bin')),
    );
    const manifest = JSON.parse(await readFile(join(FIRMWARE_DIR, 'manifest.json'), 'utf8'));
    expect(JSON.parse(stdout)).toEqual({
      flashed: manifest.firmwareVersion,
      method: `drive ${drive}`,
      checked: true,
      port: server.addresses.tcp,
      firmwareVersion: manifest.firmwareVersion,
      protocolVersion: manifest.protocolVersion,
    });
  });

  it('runs st-flash --reset when no drive is mounted, and openocd when asked', async () => {
    const root = await scratch();
    process.env.DMA_BRIDGE_DRIVE_ROOTS = join(root, 'nothing-mounted');
    const bin = await fakeTool(root, 'st-flash');
    await fakeTool(root, 'openocd');
    process.env.PATH = `${bin}${delimiter}${saved.path}`;
    const first = await runCaptured(['flash', '--no-check']);
    expect(first.code).toBe(0);
    expect((await readFile(join(root, 'st-flash.args'), 'utf8')).split('\n')).toEqual([
      '--reset',
      'write',
      join(FIRMWARE_DIR, 'bridge.bin'),
      '0x08000000',
      '',
    ]);
    const second = await runCaptured(['flash', '--with', 'openocd', '--port', server.addresses.tcp]);
    expect(second.code).toBe(0);
    const openocd = (await readFile(join(root, 'openocd.args'), 'utf8')).split('\n');
    expect(openocd.slice(0, 3)).toEqual(['-f', 'board/st_nucleo_g0.cfg', '-c']);
    expect(openocd[3]).toBe(`program ${join(FIRMWARE_DIR, 'bridge.elf')} verify`);
    // FLASH_ACR.EMPTY cleared before the reset: the chip starts the bridge, not its bootloader.
    expect(openocd.slice(4, 10)).toEqual([
      '-c',
      'mmw 0x40022000 0 0x00010000',
      '-c',
      'reset run',
      '-c',
      'shutdown',
    ]);
  });

  it('says what to do when there is no drive and no tool', async () => {
    const root = await scratch();
    process.env.DMA_BRIDGE_DRIVE_ROOTS = join(root, 'nothing-mounted');
    process.env.PATH = join(root, 'no-tools');
    const { code, stderr } = await runCaptured(['flash']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no Nucleo drive \(NOD_G071RB or NODE_G071RB\) is mounted/);
    expect(stderr).toMatch(/plug the board in with a data USB cable/);
    expect(stderr).toMatch(/install stlink-tools and use --with st-flash/);
  });

  it('fails with the power-cycle advice when the board answers as another firmware', async () => {
    const root = await scratch();
    const images = join(root, 'images');
    await mkdir(images);
    for (const f of ['bridge.bin', 'bridge.elf']) await copyFile(join(FIRMWARE_DIR, f), join(images, f));
    const manifest = JSON.parse(await readFile(join(FIRMWARE_DIR, 'manifest.json'), 'utf8'));
    await writeFile(join(images, 'manifest.json'), JSON.stringify({ ...manifest, firmwareVersion: '9.9.9' }));
    const drive = join(root, 'NODE_G071RB');
    await mkdir(drive);
    process.env.DMA_BRIDGE_DRIVE_ROOTS = root;
    const { code, stderr } = await runCaptured(['flash', '--images', images, '--port', server.addresses.tcp]);
    expect(code).toBe(1);
    expect(stderr).toContain(`answers as firmware ${manifest.firmwareVersion}, not the 9.9.9 just flashed`);
    expect(stderr).toMatch(/unplug the USB cable and plug it back in/);
  });

  it('Ctrl-C while it waits for the board: exit 130, saying the firmware was flashed but not checked', async () => {
    const root = await scratch();
    const drive = join(root, 'NOD_G071RB');
    await mkdir(drive);
    process.env.DMA_BRIDGE_DRIVE_ROOTS = root;
    const interrupt = new AbortController();
    const { code, stderr } = await runCaptured(['flash', '--port', '/nonexistent/ttyACM9', '--wait', '60s'], {
      signal: interrupt.signal,
      onNote: (line) => {
        if (line.startsWith('flash: waiting')) setTimeout(() => interrupt.abort(), 50);
      },
    });
    expect(code).toBe(130);
    expect(stderr.trim().split('\n').at(-1)).toMatch(
      /^dma-bridge: interrupted while waiting for the board: firmware \d+\.\d+\.\d+ was flashed but not checked/,
    );
    expect(await readFile(join(drive, 'bridge.bin'))).toEqual(
      await readFile(join(FIRMWARE_DIR, 'bridge.bin')),
    );
  });

  it('says so when the drive cannot be written', async () => {
    const root = await scratch();
    const { code, stderr } = await runCaptured([
      'flash',
      '--drive',
      join(root, 'gone', 'NOD_G071RB'),
      '--no-check',
    ]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      `dma-bridge: cannot copy onto ${join(root, 'gone', 'NOD_G071RB')}: ENOENT; is the drive writable?`,
    );
  });

  it('when no bridge answers on the port, lets go of the port after each try and says what to do', async () => {
    const root = await scratch();
    await mkdir(join(root, 'NOD_G071RB'));
    process.env.DMA_BRIDGE_DRIVE_ROOTS = root;
    // A port that takes connections and never answers, as a board still in its bootloader.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = `tcp://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const { code, stderr } = await runCaptured(['flash', '--port', port, '--wait', '1s']);
      expect(code).toBe(1);
      expect(stderr).toMatch(
        /no bridge answered within 1 s \(last try: .+\); if the board does not answer: unplug/,
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(sockets.length).toBeGreaterThan(0);
      expect(sockets.filter((socket) => !socket.destroyed && !socket.readableEnded)).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
