/** The command table: the order here is the order of the usage text. */
import type { Command } from '../command.ts';
import { benchCommand } from './bench.ts';
import { flashCommand } from './flash.ts';
import { infoCommand } from './info.ts';
import { listCommand } from './list.ts';
import { monitorCommand } from './monitor.ts';
import { readCommand } from './read.ts';
import { regsCommand } from './regs.ts';
import { selftestCommand } from './selftest.ts';
import { virtualCommand } from './virtual.ts';
import { writeCommand } from './write.ts';

export const commands: readonly Command[] = [
  listCommand,
  infoCommand,
  regsCommand,
  writeCommand,
  readCommand,
  monitorCommand,
  benchCommand,
  selftestCommand,
  virtualCommand,
  flashCommand,
];
