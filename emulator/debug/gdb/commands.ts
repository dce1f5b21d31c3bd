/**
 * GDB remote commands ("Packets" in GDB's manual) answered from a
 * DebugTarget. Each handler returns its reply payload, or `RUNNING` when
 * the reply is a stop reply that comes later. A malformed request gets an
 * error reply (`E01`), a request the target refuses `E02`; an unknown one
 * the empty reply, which GDB reads as "not supported".
 */
import { REGISTER_NAMES, TARGET_XML } from '../cortex-m-registers.ts';
import type { DebugTarget, StopReason, WatchKind } from '../target.ts';
import { bytesToHex, hexToBytes, hexToText, hexToWord, parseHexNumber, textToHex, wordToHex } from './hex.ts';
import { MAX_PACKET } from './packet-codec.ts';

/** The reply will be a stop reply, sent when the target stops. */
export const RUNNING = Symbol('running');
export type Reply = string | typeof RUNNING;

export const MALFORMED = 'E01';
export const REFUSED = 'E02';

/** What the handlers need of the session besides the target. */
export interface CommandContext {
  readonly target: DebugTarget;
  /** The stop reply for a reason (registers filled in by the session). */
  stopReply(reason: StopReason): string;
  /** The reason of the last stop, for `?`. */
  readonly lastStop: StopReason;
  /** Switches to no-ack mode once the reply to QStartNoAckMode has gone. */
  startNoAck(): void;
  /** GDB offered these qSupported features. */
  offerFeatures(features: readonly string[]): void;
  /** Sends console output now (an `O` packet), for monitor commands. */
  output(text: string): void;
  /** GDB detached: the session ends debugging. */
  detach(): void;
}

type Handler = (args: string, ctx: CommandContext) => Reply;

/** `addr,length` */
function addressAndLength(text: string): [number, number] | undefined {
  const [a, l, ...rest] = text.split(',');
  const address = parseHexNumber(a);
  const length = parseHexNumber(l);
  if (rest.length > 0 || address === undefined || length === undefined) return undefined;
  return [address, length];
}

function readMemory(args: string, ctx: CommandContext): Reply {
  const al = addressAndLength(args);
  if (!al) return MALFORMED;
  const [address, length] = al;
  if (length * 2 > MAX_PACKET) return MALFORMED;
  try {
    return bytesToHex(ctx.target.readMemory(address, length));
  } catch {
    return REFUSED;
  }
}

function writeMemory(args: string, ctx: CommandContext, binary: boolean): Reply {
  const colon = args.indexOf(':');
  if (colon < 0) return MALFORMED;
  const al = addressAndLength(args.slice(0, colon));
  const data = binary
    ? Uint8Array.from(args.slice(colon + 1), (c) => c.charCodeAt(0) & 0xff)
    : hexToBytes(args.slice(colon + 1));
  if (!al || !data || data.length !== al[1]) return MALFORMED;
  try {
    ctx.target.writeMemory(al[0], data);
    return 'OK';
  } catch {
    return REFUSED;
  }
}

function readRegister(args: string, ctx: CommandContext): Reply {
  const n = parseHexNumber(args);
  if (n === undefined) return MALFORMED;
  const regs = ctx.target.readRegisters();
  return n < regs.length ? wordToHex(regs[n]!) : REFUSED;
}

function writeRegister(args: string, ctx: CommandContext): Reply {
  const [n, v] = args.split('=');
  const index = parseHexNumber(n);
  const value = v === undefined ? undefined : hexToWord(v);
  if (index === undefined || value === undefined) return MALFORMED;
  return ctx.target.writeRegister(index, value) ? 'OK' : REFUSED;
}

function writeAllRegisters(args: string, ctx: CommandContext): Reply {
  if (args.length !== REGISTER_NAMES.length * 8) return MALFORMED;
  const values: number[] = [];
  for (let i = 0; i < REGISTER_NAMES.length; i++) {
    const v = hexToWord(args.slice(8 * i, 8 * i + 8));
    if (v === undefined) return MALFORMED;
    values.push(v);
  }
  for (const [i, v] of values.entries()) ctx.target.writeRegister(i, v);
  return 'OK';
}

const WATCH_KINDS: Record<string, WatchKind> = { '2': 'write', '3': 'read', '4': 'access' };

/** Z/z type,addr,kind: breakpoints (0 software, 1 hardware: the same here) and watchpoints. */
function point(args: string, ctx: CommandContext, insert: boolean): Reply {
  const [type, a, k, ...rest] = args.split(/[,;]/);
  const address = parseHexNumber(a);
  const kind = parseHexNumber(k);
  if (address === undefined || kind === undefined || (rest.length > 0 && type !== '0' && type !== '1'))
    return MALFORMED;
  const t = ctx.target;
  if (type === '0' || type === '1') {
    if (insert) t.addBreakpoint(address);
    else t.removeBreakpoint(address);
    return 'OK';
  }
  const watch = type === undefined ? undefined : WATCH_KINDS[type];
  if (!watch) return MALFORMED;
  if (kind === 0) return MALFORMED;
  if (insert) t.addWatchpoint(watch, address, kind);
  else t.removeWatchpoint(watch, address, kind);
  return 'OK';
}

function resume(args: string, ctx: CommandContext): Reply {
  if (args !== '') {
    const address = parseHexNumber(args);
    if (address === undefined) return MALFORMED;
    ctx.target.writeRegister(15, address);
  }
  ctx.target.resume();
  return RUNNING;
}

function step(args: string, ctx: CommandContext): Reply {
  if (args !== '') {
    const address = parseHexNumber(args);
    if (address === undefined) return MALFORMED;
    ctx.target.writeRegister(15, address);
  }
  return ctx.stopReply(ctx.target.step());
}

/** vCont;action[:thread]... — one core, so the first action decides. */
function vCont(args: string, ctx: CommandContext): Reply {
  if (args === '?') return 'vCont;c;C;s;S;t';
  const first = args.startsWith(';') ? args.slice(1).split(';')[0]!.split(':')[0]! : '';
  switch (first[0]) {
    case 'c':
    case 'C':
      ctx.target.resume();
      return RUNNING;
    case 's':
    case 'S':
      return ctx.stopReply(ctx.target.step());
    case 't':
      ctx.target.halt();
      return RUNNING;
    default:
      return MALFORMED;
  }
}

function monitor(args: string, ctx: CommandContext): Reply {
  const command = hexToText(args);
  if (command === undefined) return MALFORMED;
  const words = command.trim().split(/\s+/);
  if (words[0] === 'reset' && (words.length === 1 || (words.length === 2 && words[1] === 'halt'))) {
    ctx.target.reset();
    ctx.output('system reset; the core is halted at the reset vector\n');
    return 'OK';
  }
  if (words[0] === 'halt' && words.length === 1) {
    // GDB sends it only to a stopped target, already halted; front ends send it on attach.
    ctx.target.halt();
    ctx.output('the core is halted\n');
    return 'OK';
  }
  if (words[0] === 'help' || words[0] === '') {
    ctx.output(
      'monitor commands: reset, reset halt (both leave the core halted at the reset vector), halt, regs\n',
    );
    return 'OK';
  }
  const text = ctx.target.monitor?.(command.trim());
  if (text === undefined) {
    ctx.output(`unknown monitor command "${command.trim()}"; try "monitor help"\n`);
    return REFUSED;
  }
  ctx.output(text);
  return 'OK';
}

/** qXfer:features:read:annex:offset,length */
function features(args: string): Reply {
  const m = /^read:target\.xml:([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(args);
  if (!m) return MALFORMED;
  const offset = Number.parseInt(m[1]!, 16);
  const length = Number.parseInt(m[2]!, 16);
  const chunk = TARGET_XML.slice(offset, offset + length);
  return (offset + length >= TARGET_XML.length ? 'l' : 'm') + chunk;
}

function query(payload: string, ctx: CommandContext): Reply {
  if (payload.startsWith('qSupported')) {
    const offered = payload.slice('qSupported:'.length).split(';');
    ctx.offerFeatures(offered);
    const reasons = offered.filter((f) => f === 'swbreak+' || f === 'hwbreak+');
    return [
      `PacketSize=${MAX_PACKET.toString(16)}`,
      'qXfer:features:read+',
      'QStartNoAckMode+',
      'vContSupported+',
      ...reasons,
    ].join(';');
  }
  if (payload.startsWith('qXfer:features:')) return features(payload.slice('qXfer:features:'.length));
  if (payload === 'qAttached') return '1';
  if (payload === 'qC') return 'QC1';
  if (payload === 'qfThreadInfo') return 'm1';
  if (payload === 'qsThreadInfo') return 'l';
  if (payload.startsWith('qRcmd,')) return monitor(payload.slice('qRcmd,'.length), ctx);
  if (payload.startsWith('qSymbol')) return 'OK';
  return '';
}

const HANDLERS: Record<string, Handler> = {
  '?': (_a, ctx) => ctx.stopReply(ctx.lastStop),
  g: (_a, ctx) => ctx.target.readRegisters().map(wordToHex).join(''),
  G: writeAllRegisters,
  p: readRegister,
  P: writeRegister,
  m: readMemory,
  M: (a, ctx) => writeMemory(a, ctx, false),
  X: (a, ctx) => writeMemory(a, ctx, true),
  Z: (a, ctx) => point(a, ctx, true),
  z: (a, ctx) => point(a, ctx, false),
  c: resume,
  s: step,
  H: () => 'OK',
  T: () => 'OK',
  D: (_a, ctx) => {
    ctx.detach();
    return 'OK';
  },
};

/** Answers one packet. Never throws: a handler's failure is an error reply. */
export function handleCommand(payload: string, ctx: CommandContext): Reply {
  try {
    if (payload === '') return '';
    if (payload.startsWith('q')) return query(payload, ctx);
    if (payload === 'QStartNoAckMode') {
      ctx.startNoAck();
      return 'OK';
    }
    if (payload.startsWith('vCont')) return vCont(payload.slice(5), ctx);
    if (payload.startsWith('v')) return '';
    const handler = HANDLERS[payload[0]!];
    return handler ? handler(payload.slice(1), ctx) : '';
  } catch {
    return REFUSED;
  }
}

/** Console output for GDB: an `O` packet payload. */
export function outputPacket(text: string): string {
  return `O${textToHex(text)}`;
}
