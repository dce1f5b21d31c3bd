/**
 * The shipped declarations in a consumer's TypeScript project, under the
 * settings projects use: what `tsc --init` writes; `strict` with
 * `skipLibCheck: false`, `exactOptionalPropertyTypes` and no DOM lib
 * (installed without the optional dependencies); and a browser project
 * that imports dma-bridge/web with the WebSerial and WebUSB types it adds.
 * One tsc run per setting, on a few small files: the README's examples and
 * a consumer that touches each entry.
 */
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packedPackage, readmeBlocks, repo, run } from './packed.ts';

const TSC = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

/** A consumer of the Node-side entries (never dma-bridge/web). */
const NODE_CONSUMER = [
  "import { type Board, type DmaBuffer, MovedError, Serial1, TransferInDoubtError } from 'dma-bridge/driver';",
  "import { readBridgeFirmware, VirtualBoard } from 'dma-bridge/emulator';",
  "import { loadVirtualBoard, openVirtualBoard, SerialportTransport } from 'dma-bridge/node';",
  'export async function hello(board: Board): Promise<number> {',
  '  const serial = await Serial1.take(board, { baudRate: 115_200 });',
  '  const buf: DmaBuffer = board.alloc(5);',
  "  await buf.write(new TextEncoder().encode('hello'));",
  '  const { transferred } = await serial.writeAll(buf).wait();',
  '  return transferred;',
  '}',
  '// @ts-expect-error a host array is not a DmaBuffer',
  'export const wrong = (s: Serial1) => s.writeAll(new Uint8Array(4));',
  'export const used = [MovedError, TransferInDoubtError, VirtualBoard, readBridgeFirmware, loadVirtualBoard, openVirtualBoard, SerialportTransport];',
].join('\n');

const WEB_CONSUMER = [
  "import { Board } from 'dma-bridge';",
  "import { openWebSerial, openWebUsb, requestWebSerialPort, VirtualBoardTransport } from 'dma-bridge/web';",
  'export const open = async (): Promise<Board> => Board.open(await openWebSerial(await requestWebSerialPort()));',
  'export const used = [openWebUsb, VirtualBoardTransport];',
].join('\n');

interface Setting {
  readonly name: string;
  /** Which install: with the optional dependencies, or without. */
  readonly install: 'app' | 'lean';
  readonly web: boolean;
  /** compilerOptions; undefined: as `tsc --init` writes them. */
  readonly compilerOptions: Record<string, unknown> | undefined;
}

const SETTINGS: readonly Setting[] = [
  { name: 'tsc-init', install: 'app', web: false, compilerOptions: undefined },
  {
    // strict, no skipLibCheck, no DOM lib, exact optional properties, installed without serialport.
    name: 'strict-exact-no-dom',
    install: 'lean',
    web: false,
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      noEmit: true,
      lib: ['ES2023', 'esnext.disposable'],
    },
  },
  {
    name: 'web',
    install: 'app',
    web: true,
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      strict: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: false,
      noEmit: true,
      lib: ['ES2023', 'DOM', 'DOM.Iterable', 'esnext.disposable'],
      types: ['w3c-web-serial', 'w3c-web-usb'],
    },
  },
];

let installs: { app: string; lean: string };
beforeAll(async () => {
  const packed = await packedPackage();
  installs = { app: packed.app, lean: packed.lean };
}, 240_000);

/** A package from this checkout's node_modules, linked into the consumer's as an install would put it. */
async function linkPackage(project: string, name: string, from = repo): Promise<void> {
  const to = join(project, 'node_modules', name);
  await mkdir(join(to, '..'), { recursive: true });
  await symlink(join(from, 'node_modules', name), to, 'dir');
}

async function project(setting: Setting): Promise<string> {
  // A project of its own beside the install, sharing its node_modules/dma-bridge.
  const root = join(installs[setting.install], `..`, `types-${setting.name}`);
  await rm(root, { recursive: true, force: true });
  await mkdir(join(root, 'src'), { recursive: true });
  await writeFile(join(root, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  await linkPackage(root, 'dma-bridge', installs[setting.install]);
  // Every Node project has Node's types; a browser project adds the Web Serial and WebUSB ones.
  await linkPackage(root, '@types/node');
  await linkPackage(root, 'undici-types');
  if (setting.web) {
    await linkPackage(root, '@types/w3c-web-serial');
    await linkPackage(root, '@types/w3c-web-usb');
  }
  const blocks = readmeBlocks('ts').filter((b) => b.code.includes("'dma-bridge/web'") === setting.web);
  for (const [i, block] of blocks.entries())
    await writeFile(join(root, 'src', `readme-${i + 1}.ts`), block.code);
  await writeFile(join(root, 'src', 'consumer.ts'), setting.web ? WEB_CONSUMER : NODE_CONSUMER);
  if (setting.compilerOptions === undefined) {
    await run(process.execPath, [TSC, '--init'], { cwd: root });
    // tsc --init's file is JSON with comments; the project only adds where its sources are and no output.
    const init = await readFile(join(root, 'tsconfig.json'), 'utf8');
    await writeFile(join(root, 'tsconfig.json'), init.replace(/^\{/, '{\n  "include": ["src"],'));
    await writeFile(
      join(root, 'tsconfig.json'),
      (await readFile(join(root, 'tsconfig.json'), 'utf8')).replace(
        '"compilerOptions": {',
        '"compilerOptions": {\n    "noEmit": true,',
      ),
    );
  } else {
    await writeFile(
      join(root, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: setting.compilerOptions, include: ['src'] }, null, 2),
    );
  }
  return root;
}

describe.concurrent('the declarations in a consumer project', () => {
  for (const setting of SETTINGS) {
    it(`type-check under ${setting.name}`, async () => {
      const root = await project(setting);
      const result = await run(process.execPath, [TSC, '-p', root]).catch((e: { stdout: string }) => e);
      expect('stdout' in result ? result.stdout : '').toBe('');
    }, 120_000);
  }
});
