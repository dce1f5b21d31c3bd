/**
 * Runs the model test: fast-check draws sequences of commands (commands.ts)
 * and a line-fault mix, each sequence runs on a fresh virtual board with the
 * real firmware (system.ts), and a failing sequence shrinks to a short one.
 * Seeds and replay paths are printed; MODEL_SEED, MODEL_PATH replay one.
 */

import fc from 'fast-check';
import type { FaultRates } from '../../driver/transport/index.ts';
import { COMMAND_KINDS, type CommandKind, commandArbitraries, type ModelState } from './commands.ts';
import { describeError, ModelSystem } from './system.ts';

export interface ModelRunOptions {
  seed: number;
  /** A counterexample's path from an earlier run (replays it alone), with its commands' replay path. */
  path?: string;
  replayPath?: string;
  numRuns: number;
  maxCommands: number;
  /** How long sequences tend to be, up to maxCommands (fast-check's size; default 'small'). */
  size?: 'small' | 'medium' | 'large' | 'max';
  /** Wall-clock limit of one step, ms. */
  wallLimitMs: number;
  /** Stop drawing new runs (and shrinking) after this long, ms. */
  timeLimitMs?: number;
  /** Shrink a failure to a short sequence (off: report the first failing one as is). */
  shrink: boolean;
  /** The kinds of command drawn (default all). */
  kinds?: readonly CommandKind[];
  /** Called after each run with its figures. */
  onRun?: (line: string) => void;
}

export interface ModelRunReport {
  seed: number;
  runs: number;
  steps: number;
  wallMs: number;
  virtualMs: number;
  failed: boolean;
  interrupted: boolean;
  /** The shrunk (or first) failing sequence, its path and what went wrong. */
  counterexample?: string;
  path?: string;
  message?: string;
  /** When the first failure was seen, ms after the start. */
  firstFailureMs?: number;
  /** Typed errors operations ended with (not failures: a faulty line may fail any). */
  notes: Map<string, number>;
}

/** Line-fault mixes a run draws from: a clean line, each fault alone, a mix. */
const FAULT_MIXES: readonly FaultRates[] = [
  {},
  { bitFlip: 1e-3 },
  { drop: 1e-3 },
  { garbage: 1e-3, garbageMaxLength: 8 },
  { delay: 2e-3, delayMs: 15, delayMaxRun: 64 },
  { bitFlip: 3e-4, drop: 3e-4, duplicate: 3e-4, garbage: 3e-4, delay: 5e-4, delayMs: 10 },
];

export async function runModel(options: ModelRunOptions): Promise<ModelRunReport> {
  const started = performance.now();
  const report: ModelRunReport = {
    seed: options.seed,
    runs: 0,
    steps: 0,
    wallMs: 0,
    virtualMs: 0,
    failed: false,
    interrupted: false,
    notes: new Map(),
  };
  const commands = fc.commands(commandArbitraries({ wallLimitMs: options.wallLimitMs }, options.kinds), {
    maxCommands: options.maxCommands,
    ...(options.size === undefined ? {} : { size: options.size }),
    ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
  });
  const property = fc.asyncProperty(
    fc.integer({ min: 1, max: 0x7fff_ffff }),
    fc.nat(FAULT_MIXES.length - 1),
    commands,
    async (lineSeed, mix, cmds) => {
      const system = await ModelSystem.open({ seed: lineSeed, rates: FAULT_MIXES[mix]! });
      // A rejection nobody handles ends a Node program: the driver must leave none.
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      try {
        await fc.asyncModelRun(() => ({ model: { steps: 0 } satisfies ModelState, real: system }), cmds);
        // Rejections surface a turn after they happen.
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (unhandled.length > 0) {
          throw new Error(`a rejection nobody handled: ${describeError(unhandled[0])}`);
        }
      } catch (error) {
        report.firstFailureMs ??= performance.now() - started;
        throw error;
      } finally {
        process.off('unhandledRejection', onUnhandled);
        report.runs++;
        report.steps += system.steps;
        report.virtualMs += system.nowMs();
        for (const n of system.notes) {
          const key = n.replace(/^[^:]*: /, '').replace(/0x[0-9a-f]+|\d+/g, 'N');
          report.notes.set(key, (report.notes.get(key) ?? 0) + 1);
        }
        options.onRun?.(
          `run ${report.runs}: ${system.steps} steps, line faults ${JSON.stringify(FAULT_MIXES[mix])}, ` +
            `${Math.round(system.nowMs())} ms of board time`,
        );
        await system.dispose();
      }
    },
  );
  const details = await fc.check(property, {
    seed: options.seed,
    numRuns: options.numRuns,
    ...(options.path === undefined ? {} : { path: options.path }),
    endOnFailure: !options.shrink,
    ...(options.timeLimitMs === undefined ? {} : { interruptAfterTimeLimit: options.timeLimitMs }),
  });
  report.wallMs = performance.now() - started;
  report.interrupted = details.interrupted;
  if (details.failed) {
    report.failed = true;
    report.path = details.counterexamplePath ?? undefined;
    report.counterexample = details.counterexample ? fc.stringify(details.counterexample) : undefined;
    const e = details.errorInstance;
    report.message = e instanceof Error ? e.message : String(e);
  }
  return report;
}

/** What to print about a report: figures, and how to replay a failure. */
export function describeModelReport(r: ModelRunReport): string {
  const lines = [
    `model: ${r.runs} runs, ${r.steps} steps, seed ${r.seed}, ${(r.wallMs / 1000).toFixed(1)} s ` +
      `(${Math.round(r.virtualMs)} ms of board time)${r.interrupted ? ', stopped at the time limit' : ''}`,
  ];
  if (r.failed) {
    lines.push(`FAILED (first failure after ${((r.firstFailureMs ?? 0) / 1000).toFixed(1)} s): ${r.message}`);
    lines.push(`counterexample: ${r.counterexample}`);
    const replay = /replayPath="([^"]*)"/.exec(r.counterexample ?? '')?.[1];
    lines.push(
      `replay: MODEL_SEED=${r.seed} MODEL_PATH='${r.path}'${replay === undefined ? '' : ` MODEL_REPLAY='${replay}'`}`,
    );
  }
  return lines.join('\n');
}

/** The command kinds named by MODEL_ONLY / MODEL_EXCLUDE (comma-separated), default all. */
export function kindsFrom(only: string | undefined, exclude: string | undefined): CommandKind[] {
  const list = (v: string) =>
    v
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== '');
  for (const k of [...list(only ?? ''), ...list(exclude ?? '')]) {
    if (!(COMMAND_KINDS as readonly string[]).includes(k)) {
      throw new Error(`unknown command kind '${k}'; the kinds are ${COMMAND_KINDS.join(', ')}`);
    }
  }
  const chosen = only ? (list(only) as CommandKind[]) : [...COMMAND_KINDS];
  const dropped = list(exclude ?? '');
  return chosen.filter((k) => !dropped.includes(k));
}
