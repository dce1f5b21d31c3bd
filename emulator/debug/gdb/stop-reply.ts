/** Stop replies (GDB manual, "Stop Reply Packets"): a signal number and why. */
import { REG } from '../cortex-m-registers.ts';
import type { StopReason } from '../target.ts';
import { wordToHex } from './hex.ts';

const SIGINT = 0x02;
const SIGTRAP = 0x05;
const SIGSEGV = 0x0b;

export interface StopReplyOptions {
  /** GDB said it understands swbreak/hwbreak reasons (qSupported). */
  readonly breakReasons: boolean;
}

/** `registers` are sent along (pc and sp) so GDB needs no round trip to show where it stopped. */
export function stopReply(
  reason: StopReason,
  registers: readonly number[],
  options: StopReplyOptions,
): string {
  if (reason.kind === 'exit') return `W${(reason.code & 0xff).toString(16).padStart(2, '0')}`;
  const sig = reason.kind === 'interrupt' ? SIGINT : reason.kind === 'lockup' ? SIGSEGV : SIGTRAP;
  let s = `T${sig.toString(16).padStart(2, '0')}`;
  for (const n of [REG.PC, REG.SP]) s += `${n.toString(16).padStart(2, '0')}:${wordToHex(registers[n]!)};`;
  if (reason.kind === 'watch') {
    const key = reason.watch === 'write' ? 'watch' : reason.watch === 'read' ? 'rwatch' : 'awatch';
    s += `${key}:${(reason.address >>> 0).toString(16)};`;
  } else if (reason.kind === 'breakpoint' && options.breakReasons) {
    s += 'hwbreak:;';
  }
  return s;
}
