/**
 * The README's TypeScript for Node, run as a user would: each ```ts block
 * compiled as written (TypeScript to JavaScript, nothing else changed)
 * and run with node against the packed, installed package. Each must end
 * by itself: a block that leaves a handle open fails here. The block that
 * opens /dev/ttyACM0 opens a virtual board served on a pseudo-terminal
 * instead (the one change), through serialport as a real board would be.
 * Blocks for the browser run in test/package/package.test.ts (the virtual
 * board in a worker) or need a user's click (WebSerial); the API example
 * is examples/hello.ts, run by test/readme-example.test.ts. Every block is
 * type-checked by test/package/consumer-types.test.ts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVirtualBoard } from '../../node/virtual/load-board.ts';
import { VirtualServer } from '../../node/virtual-server.ts';
import { packedPackage, readmeBlocks } from './packed.ts';

const REAL_PORT = '/dev/ttyACM0';
const hasSocat = (() => {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
/** Long enough for a slow machine; a block that never exits is the failure this catches. */
const EXIT_WITHIN_MS = 25_000;

/** README blocks that run in Node: not the browser's, not the API example (a module exporting main). */
const nodeBlocks = readmeBlocks('ts').filter(
  (b) => !b.code.includes("'dma-bridge/web'") && !/^export /m.test(b.code),
);

let app: string;
let bareEnv: NodeJS.ProcessEnv;
beforeAll(async () => {
  ({ app, bareEnv } = await packedPackage());
}, 240_000);

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

async function runBlock(name: string, code: string): Promise<Ran> {
  const js = ts.transpileModule(code, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const file = join(app, `${name}.mjs`);
  await writeFile(file, js);
  return new Promise((resolve) => {
    const child = execFile('node', [file], { cwd: app, env: bareEnv }, (error, stdout, stderr) => {
      clearTimeout(timer);
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr, timedOut });
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, EXIT_WITHIN_MS);
  });
}

describe('README.md, its Node examples run as written and exit', () => {
  it('has the examples this file runs', () => {
    expect(nodeBlocks.length).toBeGreaterThanOrEqual(3);
    expect(nodeBlocks.filter((b) => b.code.includes(REAL_PORT))).toHaveLength(1);
  });

  describe.skipIf(!hasSocat)('the first transfer over a serial port (a pseudo-terminal needs socat)', () => {
    let server: VirtualServer | undefined;
    let board: Awaited<ReturnType<typeof loadVirtualBoard>> | undefined;
    afterAll(async () => {
      await server?.close();
      await board?.dispose();
    });

    it('runs on a virtual board served on a pseudo-terminal, and exits', async () => {
      const block = nodeBlocks.find((b) => b.code.includes(REAL_PORT))!;
      board = await loadVirtualBoard({ pace: 'realtime' });
      server = await VirtualServer.start(board, { pty: true, log: () => {} });
      const pty = server.addresses.pty!;
      const ran = await runBlock('readme-serial', block.code.replace(REAL_PORT, pty));
      expect(ran).toMatchObject({ code: 0, timedOut: false, stderr: '' });
      const heard = board.peer.received().map((r) => r.byte);
      expect(String.fromCharCode(...heard)).toBe('hello\n');
    });
  });

  for (const [i, block] of nodeBlocks.entries()) {
    if (block.code.includes(REAL_PORT)) continue;
    it(`runs block ${i + 1} under "${block.heading}" and exits`, async () => {
      const ran = await runBlock(`readme-${i + 1}`, block.code);
      expect(ran).toMatchObject({ code: 0, timedOut: false, stderr: '' });
      expect(ran.stdout).not.toBe('');
      if (block.code.includes('openVirtualBoard')) expect(JSON.parse(ran.stdout)).toBe('hello\n');
      if (block.code.includes('readBridgeFirmware'))
        expect(ran.stdout).toMatch(/^bridge firmware \d+\.\d+\.\d+\n$/);
    });
  }
});
