/**
 * Builds what the npm package ships (npm run build:lib; npm pack runs it):
 * the firmware, then the TypeScript compiled to JavaScript with declaration
 * files and source maps in dist/ (the checkout's layout below it), and the
 * firmware images with a manifest in dist/firmware-bridge/build/, where the
 * compiled modules find them as the sources find the checkout's build.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build:lib: ${command} ${args.join(' ')} failed`);
    process.exit(r.status ?? 1);
  }
}

run('make', ['-s', '-C', 'firmware-bridge']);
rmSync(dist, { recursive: true, force: true });
run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json']);

// The worker's URL names its source file; the package has the compiled one.
const worker = join(dist, 'web', 'src', 'transports', 'virtual-board.js');
writeFileSync(worker, readFileSync(worker, 'utf8').replaceAll('board.worker.ts', 'board.worker.js'));

const images = ['bridge.elf', 'bridge-stripped.elf', 'bridge.bin', 'bridge.hex'];
const from = join(root, 'firmware-bridge', 'build');
const to = join(dist, 'firmware-bridge', 'build');
mkdirSync(to, { recursive: true });
for (const f of images) copyFileSync(join(from, f), join(to, f));

const protocolH = readFileSync(join(root, 'firmware-bridge', 'src', 'core', 'protocol.h'), 'utf8');
const define = (name: string): number => {
  const m = new RegExp(`#define\\s+${name}\\s+(\\d+)u?`).exec(protocolH);
  if (!m) throw new Error(`protocol.h defines no ${name}`);
  return Number(m[1]);
};
const config = readFileSync(join(from, 'config.h'), 'utf8');
const baud = /#define LINK_BAUD (\d+)u/.exec(config);
const manifest = {
  firmware: 'dma-bridge bridge firmware for the Nucleo-G071RB (STM32G071RB)',
  firmwareVersion: `${define('FW_VERSION_MAJOR')}.${define('FW_VERSION_MINOR')}.${define('FW_VERSION_PATCH')}`,
  protocolVersion: define('PROTO_VERSION'),
  linkBaud: baud ? Number(baud[1]) : undefined,
  flashAddress: '0x08000000',
  images: Object.fromEntries(
    images.map((f) => {
      const bytes = readFileSync(join(to, f));
      return [
        f,
        { bytes: statSync(join(to, f)).size, sha256: createHash('sha256').update(bytes).digest('hex') },
      ];
    }),
  ),
};
writeFileSync(join(to, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(
  `build:lib: dist/ built; firmware ${manifest.firmwareVersion} (protocol v${manifest.protocolVersion})`,
);
