/**
 * Runs the demo's steps on the chosen board, prints each with its heading
 * and what happened, and ends with a summary. Any failure ends the walk
 * with one line naming the step.
 */
import { Serial1 } from '../../driver/api/index.ts';
import { Board } from '../../driver/board/board.ts';
import type { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import { oneLine } from '../cli/errors.ts';
import { openTransport } from '../transport/open-transport.ts';
import { DEFAULT_FIRMWARE, displayPath, loadVirtualBoard } from '../virtual/load-board.ts';
import { virtualTimers } from '../virtual/virtual-timers.ts';
import type { DemoContext } from './context.ts';
import { steps } from './steps.ts';

export interface DemoOptions {
  readonly port?: string;
  readonly firmware?: string;
  readonly loopback: boolean;
}

export interface DemoOutput {
  out(line: string): void;
  err(line: string): void;
}

const BAUD = 115_200;

export async function runDemo(options: DemoOptions, output: DemoOutput): Promise<number> {
  const { out } = output;
  const startedAt = performance.now();
  let vb: VirtualBoard | undefined;
  let board: Board | undefined;
  let current = 'connecting';
  try {
    if (options.port === undefined) {
      vb = await loadVirtualBoard(options.firmware === undefined ? {} : { firmware: options.firmware });
      // Deadlines in the board's time: it runs faster (or slower) than the wall clock.
      board = await Board.open(vb.hostPort(), { timers: virtualTimers(vb) });
    } else {
      board = await Board.open(await openTransport(options.port));
    }
    const where = vb
      ? `a virtual Nucleo-G071RB in this process, running ${displayPath(options.firmware ?? DEFAULT_FIRMWARE)}`
      : `the board on ${options.port}${options.loopback ? ' (PC4–PC5 jumper)' : ''}`;
    out("The Embedonomicon's DMA chapter, step by step, through the bridge");
    out(`on ${where}`);
    if (vb) out('(times marked "virtual" are the board\'s own clock: what a real board would take)');

    const ctx: DemoContext = {
      board,
      virtualBoard: vb,
      loopback: options.loopback,
      baudRate: BAUD,
      serial: await Serial1.take(board, { baudRate: BAUD, onWarning: (m) => output.err(`warning: ${m}`) }),
      say: (line) => out(`   ${line}`),
    };
    out(`   Serial1.take(board, { baudRate: ${BAUD} }): USART1 8N1 and DMA1 channel 1, owned once`);

    const results: { title: string; outcome: string }[] = [];
    for (const [i, step] of steps.entries()) {
      current = `step ${i + 1} (${step.title.split(':')[0]})`;
      out('');
      out(`${i + 1}. ${step.title}`);
      const outcome = await step.run(ctx);
      if (outcome !== 'done') ctx.say(`skipped: ${outcome.skipped}`);
      results.push({
        title: step.title.split(':')[0] ?? step.title,
        outcome: outcome === 'done' ? 'done' : 'skipped',
      });
    }

    out('');
    out('Summary');
    for (const [i, r] of results.entries())
      out(
        `   ${r.outcome === 'done' ? '✓' : '-'} ${i + 1}. ${r.title}${r.outcome === 'done' ? '' : ' (skipped)'}`,
      );
    const s = board.stats;
    const virtual = vb ? `, ${(vb.nowNs / 1e6).toFixed(1)} ms virtual` : '';
    out(
      `   ${results.filter((r) => r.outcome === 'done').length} of ${results.length} steps done in ` +
        `${((performance.now() - startedAt) / 1000).toFixed(2)} s${virtual}; link: ${s.framesSent} requests, ` +
        `${s.events} events, ${s.retransmissions} retransmissions`,
    );
    return 0;
  } catch (error) {
    output.err(`demo: ${current} failed: ${oneLine(error)}`);
    return 1;
  } finally {
    await board?.close().catch(() => {});
    await vb?.dispose().catch(() => {});
  }
}
