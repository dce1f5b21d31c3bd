/**
 * What goes out and when (PROTOCOL.md §2, §4), on a scripted board: the
 * window, the board's receive buffer, `idle()`, requests that cannot be
 * encoded, and requests the caller stops waiting for.
 */
import { describe, expect, it } from 'vitest';
import { EncodeError, encodeMessage, Status } from '../protocol/index.ts';
import { flush } from '../test-support/step-clock.ts';
import { openScripted, type Scripted } from '../test-support/wire-peer.ts';
import { LinkProtocolError, LinkTimeoutError, SessionEndedError } from './errors.ts';
import { SEQ_MOD, seqAfter } from './request-window.ts';

const ping = (n: number) => ({ command: 'ping' as const, data: Uint8Array.of(n) });
/** Bytes one of these pings takes in the board's receive buffer: its frame and the 0x00 that may go before it. */
const PING_BYTES =
  encodeMessage({ kind: 'request', command: 'ping', seq: 101, data: Uint8Array.of(1) }).length + 1;

function answer(s: Scripted, ...seqs: number[]): void {
  for (const seq of seqs) s.peer.reply({ seq, command: 'ping' });
}

/** Counts the abort listeners a signal holds. */
function listenersOn(signal: AbortSignal): { readonly count: number } {
  const live = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, l: EventListener, o?: AddEventListenerOptions) => {
    if (type === 'abort') live.add(l);
    add(type, l, o);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, l: EventListener) => {
    if (type === 'abort') live.delete(l);
    remove(type, l);
  }) as typeof signal.removeEventListener;
  return {
    get count() {
      return live.size;
    },
  };
}

describe('Link: the window', () => {
  it("holds the board's window in flight, capped by the option", async () => {
    const s = await openScripted({ hello: { window: 4 }, link: { window: 2 } });
    expect(s.link.effectiveWindow).toBe(2);
    const replies = [1, 2, 3].map((n) => s.link.request(ping(n)));
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102]);
    expect(s.link.inFlight).toBe(2);
    answer(s, 101);
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102, 103]);
    answer(s, 102, 103);
    await Promise.all(replies);
    expect(s.link.inFlight).toBe(0);
    await s.link.close();
  });

  it('a board window of 0 still lets one request through', async () => {
    const s = await openScripted({ hello: { window: 0 } });
    expect(s.link.effectiveWindow).toBe(1);
    const p = s.link.request(ping(1));
    await flush();
    answer(s, 101);
    await p;
    await s.link.close();
  });
});

describe("Link: the board's receive buffer", () => {
  async function withBuffer(rxBuffer: number | undefined) {
    const s = await openScripted({ hello: { window: 4, rxBuffer } });
    const replies = [1, 2, 3, 4].map((n) => s.link.request(ping(n)));
    await flush();
    return { s, replies };
  }

  it('takes as many frames as fit, counting the 0x00 before each', async () => {
    const { s, replies } = await withBuffer(2 * PING_BYTES);
    expect(s.peer.seqs()).toEqual([101, 102]);
    // An answer frees its request's bytes: the next one goes before 102 is answered.
    answer(s, 101);
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102, 103]);
    answer(s, 102);
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102, 103, 104]);
    answer(s, 103, 104);
    await Promise.all(replies);
    await s.link.close();
  });

  it('a byte short, one frame fewer', async () => {
    const { s, replies } = await withBuffer(2 * PING_BYTES - 1);
    expect(s.peer.seqs()).toEqual([101]);
    answer(s, 101);
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102]);
    answer(s, 102);
    await flush();
    answer(s, 103);
    await flush();
    answer(s, 104);
    await Promise.all(replies);
    const three = await withBuffer(3 * PING_BYTES - 1);
    expect(three.s.peer.seqs()).toEqual([101, 102]);
    answer(three.s, 101, 102);
    await flush();
    expect(three.s.peer.seqs()).toEqual([101, 102, 103, 104]);
    answer(three.s, 103, 104);
    await Promise.all(three.replies);
    await s.link.close();
    await three.s.link.close();
  });

  it('smaller than a frame: frames go one at a time', async () => {
    const { s, replies } = await withBuffer(1);
    for (const seq of [101, 102, 103, 104]) {
      expect(s.peer.seqs().at(-1)).toBe(seq);
      answer(s, seq);
      await flush();
    }
    await Promise.all(replies);
    await s.link.close();
  });

  it('not given: the window alone decides', async () => {
    const { s, replies } = await withBuffer(undefined);
    expect(s.peer.seqs()).toEqual([101, 102, 103, 104]);
    answer(s, 101, 102, 103, 104);
    await Promise.all(replies);
    await s.link.close();
  });
});

describe('Link.idle()', () => {
  it('resolves at once when nothing is pending, else once the last request is answered', async () => {
    const s = await openScripted();
    let idle = false;
    await s.link.idle().then(() => {
      idle = true;
    });
    expect(idle).toBe(true);
    const replies = [1, 2].map((n) => s.link.request(ping(n)));
    idle = false;
    void s.link.idle().then(() => {
      idle = true;
    });
    await flush();
    expect(idle).toBe(false);
    answer(s, 101);
    await flush();
    expect(idle).toBe(false);
    answer(s, 102);
    await flush();
    expect(idle).toBe(true);
    await Promise.all(replies);
    await s.link.close();
  });

  it('waits for a request queued while a session opens', async () => {
    const s = await openScripted();
    const reopening = s.link.reopen();
    const p = s.link.request(ping(1));
    let idle = false;
    void s.link.idle().then(() => {
      idle = true;
    });
    await flush();
    expect(idle).toBe(false);
    const hello = s.peer.requests('hello')[0]!;
    s.peer.replyHello(hello.seq);
    await reopening;
    await flush();
    expect(idle).toBe(false);
    s.peer.reply({ seq: hello.seq + 1, command: 'ping' });
    await p;
    await flush();
    expect(idle).toBe(true);
    await s.link.close();
  });

  it('resolves when the link gives up what was pending', async () => {
    const s = await openScripted({ link: { maxRetries: 0 } });
    const p = s.link.request(ping(1)).catch((e: unknown) => e);
    const idle = s.link.idle();
    await s.clock.advance(100);
    expect(await p).toBeInstanceOf(LinkTimeoutError);
    await idle;
    await s.link.close();
  });
});

describe('seqAfter: mod-2^16 order', () => {
  it('is true at and within half the range after, false before', () => {
    expect(seqAfter(5, 5)).toBe(true);
    expect(seqAfter(6, 5)).toBe(true);
    expect(seqAfter(5, 6)).toBe(false);
    expect(seqAfter(0, SEQ_MOD - 1)).toBe(true);
    expect(seqAfter(SEQ_MOD - 1, 0)).toBe(false);
    expect(seqAfter(5 + 0x7fff, 5)).toBe(true);
    expect(seqAfter(5 + 0x8000, 5)).toBe(false);
  });
});

describe('Link: a request that cannot be encoded', () => {
  it('rejects with EncodeError and does not use up a seq', async () => {
    const s = await openScripted();
    const tooLong = await s.link
      .request({ command: 'mem-write', address: 0x2000_4000, data: new Uint8Array(2000) })
      .catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(EncodeError);
    // A body the encoder cannot read at all is a bug on the caller's side, reported as such.
    const malformed = await s.link
      .request({ command: 'ping', data: undefined } as unknown as ReturnType<typeof ping>)
      .catch((e: unknown) => e);
    expect(malformed).toBeInstanceOf(LinkProtocolError);
    expect((malformed as Error).message).toMatch(/^TypeError: /);
    const p = s.link.request(ping(1));
    await flush();
    expect(s.peer.seqs()).toEqual([101]);
    answer(s, 101);
    expect((await p).seq).toBe(101);
    await s.link.close();
  });
});

describe('Link: a request the caller stops waiting for', () => {
  it('already aborted: rejects with the reason and never goes out', async () => {
    const s = await openScripted();
    const controller = new AbortController();
    const reason = new Error('not needed');
    controller.abort(reason);
    const listeners = listenersOn(controller.signal);
    expect(await s.link.request(ping(1), { signal: controller.signal }).catch((e: unknown) => e)).toBe(
      reason,
    );
    await flush();
    expect(s.peer.seqs()).toEqual([]);
    expect(listeners.count).toBe(0);
    await s.link.close();
  });

  it('aborted while queued: never goes out, and the next request takes its seq', async () => {
    const s = await openScripted({ hello: { window: 1 } });
    const first = s.link.request(ping(1));
    const controller = new AbortController();
    const queued = s.link.request(ping(2), { signal: controller.signal }).catch((e: unknown) => e);
    const third = s.link.request(ping(3));
    controller.abort(new Error('stop'));
    expect(((await queued) as Error).message).toBe('stop');
    answer(s, 101);
    await first;
    await flush();
    expect(s.peer.requests().map((r) => [r.seq, r.command === 'ping' && r.data[0]])).toEqual([
      [101, 1],
      [102, 3],
    ]);
    answer(s, 102);
    await third;
    await s.link.close();
  });

  it('aborted in flight: its reply is still taken when it comes', async () => {
    const s = await openScripted();
    const controller = new AbortController();
    const p = s.link.request(ping(1), { signal: controller.signal }).catch((e: unknown) => e);
    await flush();
    controller.abort(new Error('stop'));
    expect(((await p) as Error).message).toBe('stop');
    expect(s.link.inFlight).toBe(1);
    answer(s, 101);
    await flush();
    expect(s.link.inFlight).toBe(0);
    expect(s.link.stats.unmatchedReplies).toBe(0);
    await s.link.close();
  });

  it('a request that settles leaves no listener on the signal', async () => {
    const s = await openScripted();
    const controller = new AbortController();
    const listeners = listenersOn(controller.signal);
    const p = s.link.request(ping(1), { signal: controller.signal });
    expect(listeners.count).toBe(1);
    await flush();
    answer(s, 101);
    await p;
    expect(listeners.count).toBe(0);
    const failed = s.link.request(ping(2), { signal: controller.signal }).catch((e: unknown) => e);
    expect(listeners.count).toBe(1);
    await s.link.close();
    await failed;
    expect(listeners.count).toBe(0);
  });
});

describe('Link: a request bound to a session', () => {
  it('made for a session that has ended, while a new one opens, is refused at once', async () => {
    const s = await openScripted();
    const old = s.link.sessionId;
    const reopening = s.link.reopen();
    const error = (await s.link
      .request(ping(1), { session: old })
      .catch((e: unknown) => e)) as SessionEndedError;
    expect(error).toBeInstanceOf(SessionEndedError);
    expect(error.sent).toBe(false);
    expect(error.message).toBe(
      'ping was made in a session that ended before it was sent (the session it belongs to has ended): it ' +
        'never reached the board, and a request is never sent in another session; re-read what it depends ' +
        'on and make it again',
    );
    await flush();
    s.peer.replyHello(s.peer.requests('hello')[0]!.seq);
    await reopening;
    await flush();
    expect(s.peer.requests().map((r) => r.command)).toEqual(['hello']);
    await s.link.close();
  });

  it('made for the current session goes out in it', async () => {
    const s = await openScripted();
    const p = s.link.request(ping(1), { session: s.link.sessionId });
    await flush();
    answer(s, 101);
    expect((await p).result.status).toBe(Status.OK);
    await s.link.close();
  });
});
