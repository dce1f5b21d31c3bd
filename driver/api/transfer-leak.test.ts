/**
 * A Transfer dropped without wait(), stop() or disposal: once it is
 * garbage-collected the caller is warned, naming the call that started it.
 * (A running one is never collected: the board's event subscription holds
 * it through its channel. One that finished, or whose start is in doubt, is.)
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, expect, it } from 'vitest';
import { FAKE } from '../test-support/fake-board.ts';
import {
  DMA_TC,
  delivered,
  emitDma,
  type SerialOnFake,
  serialOnFake,
} from '../test-support/serial-harness.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let open: SerialOnFake | undefined;
afterEach(async () => {
  await open?.board.close();
  open = undefined;
});

/** Collects garbage until `done()` or a few rounds have passed. */
async function collectUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !done(); i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

it('a finished transfer never waited on warns once it is collected', async () => {
  open = await serialOnFake();
  const { board, fake, serial, warnings } = open;
  // In a function of its own, so no reference to the transfer outlives it.
  await (async () => {
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 0);
    emitDma(fake, 1, DMA_TC);
    await delivered(board);
    expect(t.isDone()).toBe(true);
  })();
  await collectUntil(() => warnings.length > 0);
  expect(warnings).toEqual([
    'a Transfer started by readExact() was garbage-collected before it was waited on, stopped or disposed; ' +
      'its buffer memory stays reserved (never reused) until board.recover()',
  ]);
});

it('a transfer waited on is forgotten by the leak check', async () => {
  open = await serialOnFake();
  const { board, fake, serial, warnings } = open;
  await (async () => {
    const t = serial.readExact(board.alloc(8));
    await t.started;
    emitDma(fake, 1, DMA_TC);
    await t.wait();
  })();
  await collectUntil(() => false);
  expect(warnings).toEqual([]);
});
