/**
 * Moving the line to another rate (PROTOCOL.md §2, SET_LINK_BAUD), step by
 * step against a link and a transport that record what they are asked:
 * the order of the steps, and where each failure leaves both ends.
 */
import { describe, expect, it } from 'vitest';
import { type HelloInfo, type ReplyTo, Status } from '../protocol/index.ts';
import { helloInfo } from '../test-support/wire-peer.ts';
import type { Transport } from '../transport/transport.ts';
import { LinkClosedError, LinkTimeoutError } from './errors.ts';
import type { RequestOptions, SequencedRequest } from './link.ts';
import { type RateSwitchable, switchLinkRate } from './rate-switch.ts';

class Recorder {
  readonly steps: string[] = [];
}

class FakeLink implements RateSwitchable {
  /** What each reopen() gives: a HELLO at a rate, or an error. */
  readonly reopens: (number | Error)[] = [];
  status: number = Status.OK;

  constructor(
    private readonly log: Recorder,
    public helloInfo: HelloInfo,
  ) {}

  request<C extends SequencedRequest['command']>(
    body: Extract<SequencedRequest, { command: C }>,
    _options?: RequestOptions,
  ): Promise<ReplyTo<C>> {
    this.log.steps.push(`request ${body.command} ${'baud' in body ? body.baud : ''}`);
    const reply = { kind: 'reply', seq: 1, mark: 0, command: body.command, result: { status: this.status } };
    return Promise.resolve(reply as ReplyTo<C>);
  }

  async idle(): Promise<void> {
    this.log.steps.push('idle');
  }

  async reopen(): Promise<HelloInfo> {
    this.log.steps.push('reopen');
    const next = this.reopens.shift();
    if (next === undefined) throw new Error('no reopen scripted');
    if (next instanceof Error) throw next;
    this.helloInfo = { ...this.helloInfo, linkBaud: next };
    return this.helloInfo;
  }

  adoptBaud(baud: number): void {
    this.log.steps.push(`adopt ${baud}`);
  }
}

function setup(options: { hello?: Partial<HelloInfo>; rateFails?: (baud: number) => unknown } = {}) {
  const log = new Recorder();
  const link = new FakeLink(log, helloInfo({ linkBaud: 115_200, bootLinkBaud: 115_200, ...options.hello }));
  const transport = {
    setBaudRate: async (baud: number) => {
      log.steps.push(`transport ${baud}`);
      const failure = options.rateFails?.(baud);
      if (failure !== undefined) throw failure;
    },
  } as unknown as Transport;
  const sleep = async (ms: number) => {
    log.steps.push(`sleep ${ms}`);
  };
  return { log, link, transport, sleep };
}

describe('switchLinkRate', () => {
  it('needs a transport with a rate', async () => {
    const { log, link, sleep } = setup();
    const error = await switchLinkRate(link, {} as Transport, 460_800, sleep).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('this transport has no line rate to change');
    expect(log.steps).toEqual([]);
  });

  it('waits for the line to be idle, asks the board, lets it switch, switches, and opens a session at the rate', async () => {
    const { log, link, transport, sleep } = setup();
    link.reopens.push(460_800);
    const outcome = await switchLinkRate(link, transport, 460_800, sleep);
    expect(outcome).toEqual({ kind: 'switched', baud: 460_800, hello: link.helloInfo });
    expect(log.steps).toEqual([
      'idle',
      'request set-link-baud 460800',
      'sleep 1',
      'transport 460800',
      'adopt 460800',
      'reopen',
    ]);
  });

  it('changes nothing when the board refuses the rate', async () => {
    const { log, link, transport, sleep } = setup({ hello: { linkBaud: 230_400 } });
    link.status = Status.VALUE_NOT_ALLOWED;
    expect(await switchLinkRate(link, transport, 9_999, sleep)).toEqual({ kind: 'refused', baud: 230_400 });
    expect(log.steps).toEqual(['idle', 'request set-link-baud 9999']);
  });

  it('goes back to the boot rate when the transport cannot take the new one', async () => {
    const { log, link, transport, sleep } = setup({
      hello: { linkBaud: 230_400, bootLinkBaud: 115_200 },
      rateFails: (baud) => (baud === 460_800 ? new Error('not supported') : undefined),
    });
    link.reopens.push(115_200);
    const outcome = await switchLinkRate(link, transport, 460_800, sleep);
    expect(outcome).toEqual({
      kind: 'fell-back',
      baud: 115_200,
      why: 'the transport could not switch to 460800 baud (not supported)',
      hello: link.helloInfo,
    });
    expect(log.steps).toEqual([
      'idle',
      'request set-link-baud 460800',
      'sleep 1',
      'transport 460800',
      'transport 115200',
      'adopt 115200',
      'reopen',
    ]);
  });

  it('says what the transport threw, whatever it was, and goes back even if the boot rate fails too', async () => {
    const { log, link, transport, sleep } = setup({ rateFails: () => 'busy' });
    link.reopens.push(115_200);
    const outcome = await switchLinkRate(link, transport, 460_800, sleep);
    expect(outcome).toMatchObject({
      kind: 'fell-back',
      baud: 115_200,
      why: 'the transport could not switch to 460800 baud (busy)',
    });
    expect(log.steps.slice(-3)).toEqual(['transport 115200', 'adopt 115200', 'reopen']);
  });

  it('follows the board back when it answers at another rate', async () => {
    const { log, link, transport, sleep } = setup();
    link.reopens.push(115_200);
    const outcome = await switchLinkRate(link, transport, 460_800, sleep);
    expect(outcome).toEqual({
      kind: 'fell-back',
      baud: 115_200,
      why: "the board went back to 115200 baud: the transport's side of the line did not change rate",
      hello: link.helloInfo,
    });
    expect(log.steps.slice(3)).toEqual([
      'transport 460800',
      'adopt 460800',
      'reopen',
      'transport 115200',
      'adopt 115200',
    ]);
  });

  it('goes back to the boot rate when nothing answers at the new one', async () => {
    const { log, link, transport, sleep } = setup({ hello: { linkBaud: 230_400, bootLinkBaud: undefined } });
    link.reopens.push(new LinkTimeoutError('no answer', 'hello', 11), 230_400);
    const outcome = await switchLinkRate(link, transport, 460_800, sleep);
    // Without bootLinkBaud, the rate the board was at is where it goes back.
    expect(outcome).toEqual({
      kind: 'fell-back',
      baud: 230_400,
      why: 'no answer at 460800 baud',
      hello: link.helloInfo,
    });
    expect(log.steps.slice(3)).toEqual([
      'transport 460800',
      'adopt 460800',
      'reopen',
      'transport 230400',
      'adopt 230400',
      'reopen',
    ]);
  });

  it('passes on any other failure of the new session', async () => {
    const { log, link, transport, sleep } = setup();
    const closed = new LinkClosedError('gone');
    link.reopens.push(closed);
    expect(await switchLinkRate(link, transport, 460_800, sleep).catch((e: unknown) => e)).toBe(closed);
    expect(log.steps.at(-1)).toBe('reopen');
  });
});
