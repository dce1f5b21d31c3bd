/**
 * Moving the host link to another rate (PROTOCOL.md §2, SET_LINK_BAUD):
 * ask the board, switch the transport once the reply has come, and open the
 * session again at the new rate: the HELLO reply proves the rate works and
 * says which rate the board really is at (a board that heard a 0x00 from a
 * host still at the old rate, because the host's side of the line never
 * switched, went back to its boot rate by itself). When the HELLO gets no
 * answer (the transport did not switch, the board reset, the line does not
 * carry the rate) both ends go back to the boot rate: the host at once, the
 * board by itself (a 0x00 at the slower rate is a framing error that sends
 * it back, and it falls back anyway after about 5 s without a valid frame), and
 * the session is opened there.
 */

import type { HelloInfo, ReplyTo } from '../protocol/index.ts';
import { Status } from '../protocol/index.ts';
import type { Transport } from '../transport/transport.ts';
import { LinkTimeoutError } from './errors.ts';
import type { RequestOptions, SequencedRequest } from './link.ts';

/** What a rate switch needs of the link. */
export interface RateSwitchable {
  readonly helloInfo: HelloInfo;
  request<C extends SequencedRequest['command']>(
    body: Extract<SequencedRequest, { command: C }>,
    options?: RequestOptions,
  ): Promise<ReplyTo<C>>;
  idle(): Promise<void>;
  reopen(): Promise<HelloInfo>;
  adoptBaud(baud: number): void;
}

export type RateSwitchOutcome =
  /** Both ends run at `baud`, in the new session `hello`. */
  | { kind: 'switched'; baud: number; hello: HelloInfo }
  /** The board refused the rate (not one of its rates): nothing changed. */
  | { kind: 'refused'; baud: number }
  /** The new rate did not work; both ends are at `baud`, the boot rate, in the new session `hello`. */
  | { kind: 'fell-back'; baud: number; why: string; hello: HelloInfo };

/**
 * How long the host waits after the reply before its first byte at the new
 * rate, ms: the board switches in its main loop once the reply's last bit
 * has left, microseconds later; a real USB link never hands the reply over
 * that fast, but a host right beside the board (the virtual board) could.
 */
const SWITCH_SETTLE_MS = 1;

export async function switchLinkRate(
  link: RateSwitchable,
  transport: Transport,
  baud: number,
  sleep: (ms: number) => Promise<void>,
): Promise<RateSwitchOutcome> {
  const setBaudRate = transport.setBaudRate?.bind(transport);
  if (!setBaudRate) throw new TypeError('this transport has no line rate to change');
  const boot = link.helloInfo.bootLinkBaud ?? link.helloInfo.linkBaud;
  // Nothing may be on its way while the rate changes under it.
  await link.idle();
  const reply = await link.request({ command: 'set-link-baud', baud });
  if (reply.result.status !== Status.OK) return { kind: 'refused', baud: link.helloInfo.linkBaud };
  // The board switches once the reply's last bit has left: it has, since it arrived.
  let why: string;
  await sleep(SWITCH_SETTLE_MS);
  try {
    await setBaudRate(baud);
  } catch (error) {
    // The transport could not take the rate: the board is at the new one alone.
    why = `the transport could not switch to ${baud} baud (${error instanceof Error ? error.message : String(error)})`;
    return fallBack(link, setBaudRate, boot, why);
  }
  link.adoptBaud(baud);
  try {
    const hello = await link.reopen();
    if (hello.linkBaud === baud) return { kind: 'switched', baud, hello };
    // Answered, at another rate: the board heard our bytes at the old rate
    // (framing errors) and went back; the transport's switch did nothing.
    await setBaudRate(hello.linkBaud).catch(() => {});
    link.adoptBaud(hello.linkBaud);
    why = `the board went back to ${hello.linkBaud} baud: the transport's side of the line did not change rate`;
    return { kind: 'fell-back', baud: hello.linkBaud, why, hello };
  } catch (error) {
    if (!(error instanceof LinkTimeoutError)) throw error;
    why = `no answer at ${baud} baud`;
  }
  return fallBack(link, setBaudRate, boot, why);
}

async function fallBack(
  link: RateSwitchable,
  setBaudRate: (baud: number) => Promise<void>,
  boot: number,
  why: string,
): Promise<RateSwitchOutcome> {
  await setBaudRate(boot).catch(() => {
    // Already at the boot rate when the switch itself failed.
  });
  link.adoptBaud(boot);
  const hello = await link.reopen();
  return { kind: 'fell-back', baud: hello.linkBaud, why, hello };
}
