/**
 * Retransmission (PROTOCOL.md §4) frame by frame on a scripted board: a
 * request's exact frame goes out again at its deadline, on a NAK naming it,
 * on SEQ_GAP from the board's expected seq, and when a later request was
 * answered first; never more than the line can use, and never silently
 * given up.
 */
import { describe, expect, it } from 'vitest';
import { Limits, Status } from '../protocol/index.ts';
import { flush } from '../test-support/step-clock.ts';
import { helloInfo, openScripted, type Scripted } from '../test-support/wire-peer.ts';
import { LinkTimeoutError } from './errors.ts';
import { defaultRetransmitMs } from './retransmission.ts';

const ping = (n: number) => ({ command: 'ping' as const, data: Uint8Array.of(n) });

/** The request the link sent with `seq` (its first copy). */
function sent(s: Scripted, seq: number) {
  const r = s.peer.requests().find((x) => x.seq === seq);
  if (!r) throw new Error(`seq ${seq} was not sent`);
  return r;
}

function gap(s: Scripted, seq: number, expected: number): void {
  s.peer.reply({ seq, command: 'ping' }, { status: Status.SEQ_GAP, expected });
}

describe('Link: a request without an answer', () => {
  it('is sent again at each deadline, then fails with LinkTimeoutError and ends the session', async () => {
    const s = await openScripted({ link: { maxRetries: 3 } });
    const p = s.link.request(ping(1)).catch((e: unknown) => e);
    await s.clock.advance(99);
    expect(s.peer.seqs()).toEqual([101]);
    await s.clock.advance(1);
    expect(s.peer.seqs()).toEqual([101, 101]);
    await s.clock.advance(200);
    expect(s.peer.seqs()).toEqual([101, 101, 101, 101]);
    // Each copy is the same frame.
    expect(new Set(s.peer.chunks.map((c) => c.filter((b) => b !== 0).join()))).toHaveProperty('size', 1);
    await s.clock.advance(99);
    expect(s.link.state).toBe('open');
    await s.clock.advance(1);
    const error = (await p) as LinkTimeoutError;
    expect(error).toBeInstanceOf(LinkTimeoutError);
    expect(error.message).toBe(
      'no reply from the board to ping (seq 101) after 4 attempts 100 ms apart: the link is down or the ' +
        'board hangs; whether the request ran is unknown, so reopen the session and re-read the state you ' +
        'depend on',
    );
    expect([error.command, error.attempts]).toEqual(['ping', 4]);
    expect(s.link.stats).toMatchObject({ timeouts: 1, retransmissions: 3 });
    expect(s.link.state).toBe('no-session');
    const refused = (await s.link.request(ping(2)).catch((e: unknown) => e)) as LinkTimeoutError;
    expect(refused).toBeInstanceOf(LinkTimeoutError);
    expect(refused.message).toBe(
      `${error.message} (the session was abandoned; call reopen() to start a new one)`,
    );
    expect([refused.command, refused.attempts]).toEqual(['ping', 4]);
    // Each refusal is its own error.
    expect(await s.link.request(ping(3)).catch((e: unknown) => e)).not.toBe(refused);
    expect(s.clock.pending).toBe(0);
    await s.link.close();
  });

  it("waits the request's extra time on top of each deadline", async () => {
    const s = await openScripted({ link: { maxRetries: 1 } });
    const p = s.link.request(ping(1), { extraTimeMs: 50 }).catch((e: unknown) => e);
    await s.clock.advance(149);
    expect(s.peer.seqs()).toEqual([101]);
    await s.clock.advance(1);
    expect(s.peer.seqs()).toEqual([101, 101]);
    await s.clock.advance(150);
    expect(((await p) as Error).message).toMatch(
      /^no reply from the board to ping \(seq 101\) after 2 attempts 150 ms apart:/,
    );
    await s.link.close();
  });

  it('takes its own number of retries when given one', async () => {
    const s = await openScripted({ link: { maxRetries: 5 } });
    const p = s.link.request(ping(1), { retries: 1 }).catch((e: unknown) => e);
    await s.clock.advance(200);
    expect(await p).toBeInstanceOf(LinkTimeoutError);
    expect(s.peer.seqs()).toEqual([101, 101]);
    await s.link.close();
  });

  it('is answered from a later copy', async () => {
    const s = await openScripted();
    const p = s.link.request(ping(1));
    await s.clock.advance(100);
    s.peer.reply(sent(s, 101));
    expect((await p).seq).toBe(101);
    expect(s.link.stats.retransmissions).toBe(1);
    expect(s.clock.pending).toBe(0);
    await s.link.close();
  });
});

describe('Link: a NAK naming a request', () => {
  it('resends it at once, and keeps the deadline that was running', async () => {
    const s = await openScripted();
    const p = s.link.request(ping(1));
    await s.clock.advance(50);
    s.peer.nak(101);
    await flush();
    expect(s.peer.seqs()).toEqual([101, 101]);
    // The deadline set by the first copy still comes at 100 ms, and only one.
    await s.clock.advance(50);
    expect(s.peer.seqs()).toEqual([101, 101, 101]);
    await s.clock.advance(99);
    expect(s.peer.seqs()).toEqual([101, 101, 101]);
    await s.clock.advance(1);
    expect(s.peer.seqs()).toEqual([101, 101, 101, 101]);
    s.peer.reply(sent(s, 101));
    await p;
    expect(s.link.stats).toMatchObject({ naks: 1, retransmissions: 3, timeouts: 0 });
    await s.link.close();
  });

  it('resends at most four times per deadline period', async () => {
    const s = await openScripted({ link: { maxRetries: 10 } });
    const p = s.link.request(ping(1));
    await flush();
    for (let i = 0; i < 6; i++) {
      s.peer.nak(101);
      await flush();
    }
    expect(s.peer.seqs()).toHaveLength(5);
    // The deadline resends and starts a new period.
    await s.clock.advance(100);
    expect(s.peer.seqs()).toHaveLength(6);
    s.peer.nak(101);
    await flush();
    expect(s.peer.seqs()).toHaveLength(7);
    expect(s.link.stats.naks).toBe(7);
    s.peer.reply(sent(s, 101));
    await p;
    await s.link.close();
  });

  it('names nothing in flight: nothing is resent', async () => {
    const s = await openScripted();
    const p = s.link.request(ping(1));
    await flush();
    s.peer.nak(102);
    await flush();
    expect(s.peer.seqs()).toEqual([101]);
    s.peer.reply(sent(s, 101));
    await p;
    await s.link.close();
  });
});

describe('Link: SEQ_GAP', () => {
  /** Three requests out (101, 102, 103); 101 never reached the board. */
  async function threeOut() {
    const s = await openScripted({ hello: { window: 4 } });
    const replies = [1, 2, 3].map((n) => s.link.request(ping(n)));
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102, 103]);
    s.peer.clear();
    return { s, replies };
  }

  it('goes back to the expected seq once per loss: the gaps the go-back made are absorbed', async () => {
    const { s, replies } = await threeOut();
    gap(s, 102, 101);
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102, 103]);
    // 103's first copy owed this gap: no second go-back.
    s.peer.reply({ seq: 103, command: 'ping' }, { status: Status.SEQ_GAP, expected: 101 });
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102, 103]);
    expect(s.link.stats).toMatchObject({ seqGaps: 2, retransmissions: 3 });
    for (const seq of [101, 102, 103]) s.peer.reply({ seq, command: 'ping' });
    expect((await Promise.all(replies)).map((r) => r.seq)).toEqual([101, 102, 103]);
    await s.link.close();
  });

  it('acts on every gap a request does not owe', async () => {
    const { s, replies } = await threeOut();
    gap(s, 102, 101);
    gap(s, 103, 101); // owed by 103's first copy
    await flush();
    s.peer.clear();
    // 101 is lost again: 102's second copy gets a gap, which it does not owe.
    s.peer.reply({ seq: 102, command: 'ping' }, { status: Status.SEQ_GAP, expected: 101 });
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102, 103]);
    s.peer.clear();
    // 101 lost a third time, and 102's reply with it: 103's gap is not owed either (the last go-back started from 102).
    s.peer.reply({ seq: 103, command: 'ping' }, { status: Status.SEQ_GAP, expected: 101 });
    await flush();
    expect(s.peer.seqs()).toEqual([]);
    s.peer.reply({ seq: 103, command: 'ping' }, { status: Status.SEQ_GAP, expected: 101 });
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102, 103]);
    for (const seq of [101, 102, 103]) s.peer.reply({ seq, command: 'ping' });
    await Promise.all(replies);
    await s.link.close();
  });

  it('resends only from the expected seq on', async () => {
    const { s, replies } = await threeOut();
    // 101 ran and its reply was lost; 102 was lost.
    gap(s, 103, 102);
    await flush();
    expect(s.peer.seqs()).toEqual([102, 103]);
    for (const seq of [101, 102, 103]) s.peer.reply({ seq, command: 'ping' });
    await Promise.all(replies);
    await s.link.close();
  });

  it('a request NAKed to its limit is not resent by a go-back, and owes no gap for it', async () => {
    const { s, replies } = await threeOut();
    for (let i = 0; i < 4; i++) {
      s.peer.nak(103);
      await flush();
    }
    s.peer.clear();
    gap(s, 102, 101);
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102]);
    s.peer.clear();
    // 103's own gap (its copies reached the board before 101) is acted on: 101 and 102 again.
    s.peer.reply({ seq: 103, command: 'ping' }, { status: Status.SEQ_GAP, expected: 101 });
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102]);
    for (const seq of [101, 102, 103]) s.peer.reply({ seq, command: 'ping' });
    await Promise.all(replies);
    await s.link.close();
  });
});

describe('Link: a later request answered first', () => {
  it('resends the earlier ones still unanswered at once, once per loss', async () => {
    const s = await openScripted({ hello: { window: 4 } });
    const replies = [1, 2, 3].map((n) => s.link.request(ping(n)));
    await flush();
    s.peer.clear();
    s.peer.reply({ seq: 102, command: 'ping' });
    await flush();
    // 101's reply was lost: resent now; 103 was sent after 102 and is not.
    expect(s.peer.seqs()).toEqual([101]);
    // 103 was sent before 101's new copy: its answer resends nothing.
    s.peer.reply({ seq: 103, command: 'ping' });
    await flush();
    expect(s.peer.seqs()).toEqual([101]);
    s.peer.reply({ seq: 101, command: 'ping' });
    expect((await Promise.all(replies)).map((r) => r.seq)).toEqual([101, 102, 103]);
    expect(s.link.stats.retransmissions).toBe(1);
    await s.link.close();
  });
});

describe('Link: a transport still busy with earlier bytes', () => {
  it('a deadline adds no copy behind one still queued; the next deadline runs from when it left', async () => {
    const s = await openScripted();
    const p = s.link.request(ping(1));
    await s.clock.advance(50);
    s.peer.hold();
    s.peer.nak(101); // its resend stays in the transport
    await s.clock.advance(60);
    s.peer.release();
    await flush();
    expect(s.peer.seqs()).toEqual([101, 101]);
    await s.clock.advance(89);
    expect(s.peer.seqs()).toEqual([101, 101]);
    await s.clock.advance(1);
    expect(s.peer.seqs()).toEqual([101, 101, 101]);
    s.peer.reply({ seq: 101, command: 'ping' });
    await p;
    await s.link.close();
  });

  it('a NAK for a copy still queued resends right after it leaves', async () => {
    const s = await openScripted();
    s.peer.hold();
    const p = s.link.request(ping(1));
    await s.clock.advance(10);
    s.peer.nak(101);
    await s.clock.advance(10);
    expect(s.peer.seqs()).toEqual([101]);
    s.peer.release();
    await flush();
    expect(s.peer.seqs()).toEqual([101, 101]);
    // Its deadline runs from the second copy.
    await s.clock.advance(99);
    expect(s.peer.seqs()).toEqual([101, 101]);
    await s.clock.advance(1);
    expect(s.peer.seqs()).toEqual([101, 101, 101]);
    s.peer.reply({ seq: 101, command: 'ping' });
    await p;
    await s.link.close();
  });

  it('a request answered before its bytes left sets no deadline', async () => {
    const s = await openScripted();
    s.peer.hold();
    const p = s.link.request(ping(1));
    await flush();
    s.peer.reply({ seq: 101, command: 'ping' });
    await p;
    s.peer.release();
    await flush();
    expect(s.clock.pending).toBe(0);
    await s.link.close();
  });
});

describe('Link: the request hooks', () => {
  it('onSent is called once, at the first copy; one that throws is counted and changes nothing', async () => {
    const s = await openScripted();
    let calls = 0;
    const p = s.link.request(ping(1), {
      onSent: () => {
        calls++;
        throw new Error('a broken hook');
      },
    });
    await flush();
    expect(calls).toBe(1);
    await s.clock.advance(100);
    expect(s.peer.seqs()).toEqual([101, 101]);
    expect(calls).toBe(1);
    s.peer.reply({ seq: 101, command: 'ping' });
    expect((await p).seq).toBe(101);
    expect(s.link.stats.listenerErrors).toBe(1);
    await s.link.close();
  });

  it('onReply that throws is counted, and the reply still resolves the request', async () => {
    const s = await openScripted();
    const p = s.link.request(ping(1), {
      onReply: () => {
        throw new Error('a broken hook');
      },
    });
    await flush();
    s.peer.reply({ seq: 101, command: 'ping' });
    expect((await p).seq).toBe(101);
    expect(s.link.stats.listenerErrors).toBe(1);
    await s.link.close();
  });
});

describe('Link: the default deadline', () => {
  it('is the time a full window of the largest frames takes both ways, twice, plus 50 ms', async () => {
    const frame = (payload: number) => payload + Limits.headerLength + Limits.crcLength + 6;
    const info = helloInfo({ maxRequestPayload: 1024, maxReplyPayload: 264, linkBaud: 115_200 });
    expect(frame(1024) + frame(264)).toBe(1312);
    expect(defaultRetransmitMs(info, 4)).toBe(Math.ceil((2 * 4 * 1312 * 10 * 1000) / 115_200) + 50);
    expect(defaultRetransmitMs(info, 4)).toBe(962);
    expect(defaultRetransmitMs({ ...info, linkBaud: 1_000_000 }, 2)).toBe(103);
    expect(defaultRetransmitMs({ ...info, maxRequestPayload: 10, maxReplyPayload: 20 }, 1)).toBe(60);
    // A board that does not say its rate is taken to be at 115200 baud.
    expect(defaultRetransmitMs({ ...info, linkBaud: 0 }, 4)).toBe(962);
  });

  it("follows the session's window and rate, unless the deadline was given", async () => {
    const s = await openScripted({ link: { retransmitTimeoutMs: undefined, window: 2 } });
    expect(s.link.effectiveWindow).toBe(2);
    expect(s.link.retransmitTimeoutMs).toBe(defaultRetransmitMs(s.link.helloInfo, 2));
    const p = s.link.request(ping(1));
    await s.clock.advance(s.link.retransmitTimeoutMs - 1);
    expect(s.peer.seqs()).toEqual([101]);
    await s.clock.advance(1);
    expect(s.peer.seqs()).toEqual([101, 101]);
    s.peer.reply({ seq: 101, command: 'ping' });
    await p;
    s.link.adoptBaud(1_000_000);
    expect(s.link.helloInfo.linkBaud).toBe(1_000_000);
    expect(s.link.retransmitTimeoutMs).toBe(103);
    await s.link.close();

    const given = await openScripted({ link: { retransmitTimeoutMs: 70 } });
    expect(given.link.retransmitTimeoutMs).toBe(70);
    given.link.adoptBaud(1_000_000);
    expect(given.link.retransmitTimeoutMs).toBe(70);
    await given.link.close();
  });
});
