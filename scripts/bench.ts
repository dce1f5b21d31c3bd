/**
 * Every benchmark, one after the other, each in its own process so one's
 * warm JIT or heap does not colour the next: the codec (wall time), the
 * emulator (MIPS against a 64 MHz Cortex-M0+), the link and the transfers
 * (virtual time on the virtual board running the real firmware).
 *   npm run bench
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const benches = [
  'bench-codec.ts',
  'bench-emulator.ts',
  'bench-virtual-board.ts',
  'bench-link.ts',
  'bench-link-rates.ts',
  'bench-transfer.ts',
];
const here = fileURLToPath(new URL('.', import.meta.url));
let failed = 0;

for (const name of benches) {
  const path = `${here}${name}`;
  if (!existsSync(path)) continue;
  console.log(`\n== ${name.replace(/^bench-|\.ts$/g, '')}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`${name} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed === 0 ? 0 : 1);
