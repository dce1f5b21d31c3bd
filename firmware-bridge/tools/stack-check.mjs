#!/usr/bin/env node
/*
 * Worst-case stack of the bridge firmware, from its disassembly (after
 * LTO, so it measures the code that runs): each function's frame is what
 * its prologue pushes (`push {...}`, `sub sp, #n`), its callees are its
 * `bl` targets and tail branches into other functions. The deepest thread
 * path (from Reset_Handler) is added to the deepest handler at each NVIC
 * priority level (handlers of one level cannot nest; board.c sets the
 * levels), each nested exception with its 32-byte frame, and HardFault on
 * top. Fails when that exceeds the stack the linker script reserves, or
 * when something cannot be bounded (recursion, an indirect call, a frame
 * it cannot read).
 *
 *   node tools/stack-check.mjs build/bridge.elf linker.ld [objdump]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [elf, linker, objdump = 'arm-none-eabi-objdump'] = process.argv.slice(2);
if (!elf || !linker) {
  console.error('usage: stack-check.mjs <bridge.elf> <linker.ld> [objdump]');
  process.exit(2);
}

/* NVIC priority levels (board.c nvic_set_priority; SysTick keeps its reset
 * priority 0). Handlers not listed never run: their vectors go to
 * Default_Handler, which resets. */
const LEVELS = [
  ['USART2_IRQHandler', 'SysTick_Handler'],
  ['DMA1_Ch4_7_DMAMUX1_OVR_IRQHandler'],
  ['DMA1_Channel1_IRQHandler', 'DMA1_Channel2_3_IRQHandler', 'USART1_IRQHandler'],
];
const EXCEPTION_FRAME = 32; // r0-r3, r12, lr, pc, xPSR (ARMv6-M ARM B1.5.6)

const stackSize = Number(/STACK_SIZE\s*=\s*(\d+)/.exec(readFileSync(linker, 'utf8'))?.[1]);
if (!Number.isFinite(stackSize)) fail(`no STACK_SIZE in ${linker}`);

const listing = execFileSync(objdump, ['-d', '--no-show-raw-insn', elf], {
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});

/** name -> { frame, calls: Set, problems: [] } */
const functions = new Map();
let current;
for (const line of listing.split('\n')) {
  const head = /^[0-9a-f]+ <([^>]+)>:$/.exec(line);
  if (head) {
    current = { name: head[1], frame: 0, calls: new Set(), problems: [] };
    functions.set(current.name, current);
    continue;
  }
  if (!current) continue;
  const insn = /^\s+[0-9a-f]+:\s+(\S+)\s*(.*)$/.exec(line);
  if (!insn) continue;
  const [, op, args] = insn;
  if (op === 'push') current.frame += 4 * args.replace(/[{}]/g, '').split(',').length;
  else if (op === 'sub' && /^sp,\s*#(\d+)/.test(args)) current.frame += Number(/#(\d+)/.exec(args)[1]);
  else if (op === 'bl' || op === 'blx') {
    const target = /<([^>+]+)(\+0x[0-9a-f]+)?>/.exec(args);
    if (!target) current.problems.push(`indirect call (${op} ${args})`);
    // A BL into its own function is a far jump (Thumb-1: LR was saved by the prologue).
    else if (target[1] !== current.name) {
      if (target[2]) current.problems.push(`call into the middle of ${target[1]} (${op} ${args})`);
      else current.calls.add(target[1]);
    }
  } else if (/^b(\.n|\.w)?$/.test(op)) {
    // A branch to another function's start is a tail call.
    const target = /<([^>+]+)>/.exec(args)?.[1];
    if (target && target !== current.name) current.calls.add(target);
  } else if ((op === 'mov' || op === 'add') && /^sp,\s*r\d/.test(args)) {
    current.problems.push(`stack pointer set from a register (${op} ${args})`);
  }
}

const memo = new Map();
/** Deepest stack below `name`, with the path. */
function deepest(name, trail = []) {
  if (memo.has(name)) return memo.get(name);
  if (trail.includes(name)) fail(`recursion: ${[...trail, name].join(' -> ')}`);
  const fn = functions.get(name);
  if (!fn) fail(`no function ${name} in the disassembly`);
  if (fn.problems.length > 0) fail(`${name}: ${fn.problems.join('; ')}`);
  let best = { bytes: 0, path: [] };
  for (const callee of fn.calls) {
    const below = deepest(callee, [...trail, name]);
    if (below.bytes > best.bytes) best = below;
  }
  const result = { bytes: fn.frame + best.bytes, path: [name, ...best.path] };
  memo.set(name, result);
  return result;
}

const thread = deepest('Reset_Handler');
let total = thread.bytes;
const lines = [`thread ${thread.bytes} B (${thread.path.join(' > ')})`];
for (const [i, level] of LEVELS.entries()) {
  const worst = level
    .filter((h) => functions.has(h))
    .map((h) => deepest(h))
    .sort((a, b) => b.bytes - a.bytes)[0];
  if (!worst) continue;
  total += worst.bytes + EXCEPTION_FRAME;
  lines.push(`priority ${i}: ${worst.bytes} + ${EXCEPTION_FRAME} B (${worst.path.join(' > ')})`);
}
const fault = deepest('HardFault_Handler');
total += fault.bytes + EXCEPTION_FRAME;
lines.push(`HardFault: ${fault.bytes} + ${EXCEPTION_FRAME} B`);

const margin = stackSize - total;
console.log(`stack: worst case ${total} of ${stackSize} bytes, margin ${margin}`);
for (const l of lines) console.log(`  ${l}`);
if (margin < 0) fail(`the worst case needs ${-margin} bytes more than STACK_SIZE in ${linker}`);

function fail(message) {
  console.error(`stack-check: ${message}`);
  process.exit(1);
}
