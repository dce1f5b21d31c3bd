/**
 * Builds what the npm package ships (npm run build:lib; npm pack runs it):
 * the firmware, then the TypeScript compiled to JavaScript with declaration
 * files and source maps in dist/ (the checkout's layout below it), and the
 * firmware images with their manifest (made by the firmware's Makefile) in
 * dist/firmware-bridge/build/, where the compiled modules find them as the
 * sources find the checkout's build.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// The worker's URL names its source file (tsc rewrites imports, not URLs);
// the package has the compiled one.
const transport = join(dist, 'web', 'src', 'transports', 'virtual-board.js');
const workerSource = "'../worker/board.worker.ts'";
const compiled = readFileSync(transport, 'utf8');
if (!compiled.includes(workerSource)) {
  console.error(`build:lib: ${transport} no longer names ${workerSource}: update scripts/build-lib.ts`);
  process.exit(1);
}
writeFileSync(transport, compiled.replaceAll(workerSource, "'../worker/board.worker.js'"));

const images = ['bridge.elf', 'bridge-stripped.elf', 'bridge.bin', 'bridge.hex', 'manifest.json'];
const from = join(root, 'firmware-bridge', 'build');
const to = join(dist, 'firmware-bridge', 'build');
mkdirSync(to, { recursive: true });
for (const f of images) copyFileSync(join(from, f), join(to, f));
const manifest = JSON.parse(readFileSync(join(to, 'manifest.json'), 'utf8')) as {
  firmwareVersion: string;
  protocolVersion: number;
};
console.log(
  `build:lib: dist/ built; firmware ${manifest.firmwareVersion} (protocol v${manifest.protocolVersion})`,
);
