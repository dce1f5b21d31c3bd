/**
 * The README's API example is examples/hello.ts, verbatim, and it runs:
 * against the real bridge firmware on the virtual board, with the peer
 * answering once the board listens.
 */

import { readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { DMA } from '../emulator/stm32g071/dma.ts';
import { main } from '../examples/hello.ts';
import { peerReceived, str, text } from './support/api-fixtures.ts';
import { openVirtualTarget, type VirtualTarget } from './support/virtual-target.ts';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

/** The first ```ts block under the "## Using the API" heading of README.md. */
function readmeExample(): string {
  const readme = read('../README.md');
  const section = readme.split(/^## Using the API\s*$/m)[1];
  if (section === undefined) throw new Error('README.md has no "## Using the API" section');
  const block = /^```ts\n([\s\S]*?)^```/m.exec(section.split(/^## /m)[0]!);
  if (!block) throw new Error('the "## Using the API" section of README.md has no ```ts block');
  return block[1]!;
}

let target: VirtualTarget | undefined;
afterEach(async () => {
  await target?.dispose();
  target = undefined;
});

it('README.md shows examples/hello.ts verbatim', () => {
  expect(readmeExample()).toBe(read('../examples/hello.ts'));
});

it('examples/hello.ts runs on the virtual board', async () => {
  target = await openVirtualTarget();
  const { board, vb } = target;
  const answer = '0123456789abcdef';
  // The peer answers once it has the greeting and DMA1 channel 1 is enabled for reception (DIR = 0).
  const peer = (async () => {
    for (;;) {
      const ccr = vb.chip.dma1.read(DMA.CCR(1), 4);
      if (peerReceived(vb).length === 13 && (ccr & 1) === 1 && (ccr & (1 << 4)) === 0) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    vb.peer.inject(text(answer));
  })();
  const log: string[] = [];
  const result = await main(board, (line) => log.push(line));
  await peer;
  expect(str(peerReceived(vb))).toBe('Hello, world!');
  expect(result).toBe(answer);
  expect(log).toHaveLength(1);
  expect(log[0]).toMatch(/^this Serial1 was moved by writeAll\(\)/);
  expect(board.arenaUsage().buffers).toBe(0);
});
