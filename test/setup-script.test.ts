/**
 * scripts/setup.sh picks the libFuzzer runtime package that matches the
 * installed clang, whatever its version (Debian 12 has clang 14, Ubuntu
 * 24.04 clang 18), instead of naming one version. Checked with a stand-in
 * clang and apt-cache on PATH.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const script = readFileSync(new URL('../scripts/setup.sh', import.meta.url), 'utf8');
const fn = /^clang_runtime_pkg\(\) \{[\s\S]*?^\}$/m.exec(script)?.[0];
const dir = mkdtempSync(join(tmpdir(), 'dma-bridge-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runtimePackage(clangVersion: string, aptKnows: readonly string[]): string {
  writeFileSync(join(dir, 'clang'), `#!/bin/sh\necho ${clangVersion}\n`);
  writeFileSync(
    join(dir, 'apt-cache'),
    `#!/bin/sh\ncase "$2" in ${aptKnows.length > 0 ? aptKnows.join('|') : 'none'}) exit 0;; *) exit 100;; esac\n`,
  );
  chmodSync(join(dir, 'clang'), 0o755);
  chmodSync(join(dir, 'apt-cache'), 0o755);
  return execFileSync('bash', ['-c', `${fn}\nclang_runtime_pkg`], {
    env: { PATH: `${dir}:/usr/bin:/bin` },
    encoding: 'utf8',
  }).trim();
}

it('names the runtime package after the installed clang', () => {
  expect(fn).toBeDefined();
  expect(runtimePackage('14.0.6', ['libclang-rt-14-dev'])).toBe('libclang-rt-14-dev');
  expect(runtimePackage('18.1.3', ['libclang-rt-18-dev'])).toBe('libclang-rt-18-dev');
  // Before the runtime had a package of its own, clang's common package carried it.
  expect(runtimePackage('13.0.1', [])).toBe('libclang-common-13-dev');
});
