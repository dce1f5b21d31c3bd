/**
 * Opening a session (PROTOCOL.md §4), frame by frame on a scripted board:
 * when HELLO goes out and again, what opens the session, and what each
 * failure rejects with.
 */
import { describe, expect, it } from 'vitest';
import { encodeMessage, encodeRawFrame, PROTOCOL_VERSION, Status } from '../protocol/index.ts';
import { flush, StepClock } from '../test-support/step-clock.ts';
import { helloInfo, openScripted, reopenScripted, WirePeer } from '../test-support/wire-peer.ts';
import { LinkClosedError, LinkProtocolError, LinkTimeoutError, LinkUsageError } from './errors.ts';
import { Link, type LinkNotification } from './link.ts';

const ping = { command: 'ping' as const, data: Uint8Array.of(1) };

const NO_ANSWER =
  ': check that the bridge firmware runs, that this is its port and that the baud rate matches';

/** Link.open on a scripted board that has not answered yet. */
function opening(options: { maxRetries?: number } = {}) {
  const clock = new StepClock();
  const peer = new WirePeer();
  const open = Link.open(peer.transport, {
    timers: clock,
    initialSeq: 7,
    retransmitTimeoutMs: 100,
    maxRetries: options.maxRetries ?? 3,
  });
  const outcome = open.then(
    (link) => ({ link, error: undefined }),
    (error: unknown) => ({ link: undefined, error }),
  );
  return { clock, peer, outcome };
}

describe('Link.open: HELLO', () => {
  it('goes out at the first seq, after a 0x00, and an answer opens the session', async () => {
    const { clock, peer, outcome } = opening();
    await flush();
    expect(peer.chunks).toHaveLength(1);
    expect(peer.chunks[0]![0]).toBe(0);
    expect(peer.requests()).toEqual([{ kind: 'request', command: 'hello', seq: 7 }]);
    peer.replyHello(7, helloInfo({ window: 3 }));
    const { link } = await outcome;
    expect(link!.state).toBe('open');
    expect(link!.helloInfo.window).toBe(3);
    expect(link!.stats).toMatchObject({
      framesSent: 1,
      retransmissions: 0,
      unmatchedReplies: 0,
      timeouts: 0,
    });
    // Nothing left running: no HELLO deadline, no quiet-line timer.
    expect(clock.pending).toBe(0);
    await link!.close();
  });

  it('is sent again at each deadline, then open() rejects with LinkTimeoutError and closes the transport', async () => {
    const { clock, peer, outcome } = opening({ maxRetries: 3 });
    await clock.advance(99);
    expect(peer.seqs('hello')).toEqual([7]);
    await clock.advance(1);
    expect(peer.seqs('hello')).toEqual([7, 7]);
    await clock.advance(200);
    expect(peer.seqs('hello')).toEqual([7, 7, 7, 7]);
    await clock.advance(99);
    expect(peer.closes).toBe(0);
    await clock.advance(1);
    const { error } = await outcome;
    expect(error).toBeInstanceOf(LinkTimeoutError);
    expect((error as LinkTimeoutError).message).toBe(
      `the board did not answer HELLO after 4 attempts${NO_ANSWER}`,
    );
    expect((error as LinkTimeoutError).command).toBe('hello');
    expect((error as LinkTimeoutError).attempts).toBe(4);
    expect(peer.seqs('hello')).toHaveLength(4);
    expect(peer.closes).toBe(1);
    expect(peer.cancelled).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('says how many damaged frames came back instead of an answer', async () => {
    const { clock, peer, outcome } = opening({ maxRetries: 1 });
    await flush();
    // One frame with a bad CRC and one with a good CRC but an unknown type: as many of each.
    const frame = encodeRawFrame(PROTOCOL_VERSION, 0x81, 7, new Uint8Array(4));
    const bad = frame.slice();
    bad[2]! ^= 0x10;
    peer.sendRaw(bad);
    peer.sendRaw(encodeRawFrame(PROTOCOL_VERSION, 0x3f, 7, new Uint8Array(2)));
    await clock.advance(200);
    const { error } = await outcome;
    expect((error as Error).message).toBe(
      `the board did not answer HELLO after 2 attempts (1 corrupt and 1 unreadable frames came back)${NO_ANSWER}`,
    );
  });

  it('is resent at once on a NAK naming it, and the deadline runs from that copy', async () => {
    const { clock, peer, outcome } = opening();
    await clock.advance(10);
    peer.nak(99); // names something else: nothing to resend
    await clock.advance(10);
    expect(peer.seqs('hello')).toEqual([7]);
    peer.nak(7);
    await flush();
    expect(peer.seqs('hello')).toEqual([7, 7]);
    await clock.advance(99);
    expect(peer.seqs('hello')).toEqual([7, 7]);
    await clock.advance(1);
    expect(peer.seqs('hello')).toEqual([7, 7, 7]);
    peer.replyHello(7);
    const { link } = await outcome;
    expect(link!.stats).toMatchObject({ naks: 2, retransmissions: 2, framesReceived: 3 });
    await link!.close();
  });

  it('is not copied again while the transport still holds it; the deadline decides', async () => {
    const clock = new StepClock();
    const peer = new WirePeer();
    peer.hold();
    const open = Link.open(peer.transport, { timers: clock, initialSeq: 7, retransmitTimeoutMs: 100 });
    await clock.advance(10);
    peer.nak(7); // the copy it names has not even left
    await clock.advance(40);
    peer.release();
    await flush();
    expect(peer.seqs('hello')).toEqual([7]);
    // The NAK started the deadline: 100 ms from it, one more copy, and only one.
    await clock.advance(59);
    expect(peer.seqs('hello')).toEqual([7]);
    await clock.advance(1);
    expect(peer.seqs('hello')).toEqual([7, 7]);
    await clock.advance(99);
    expect(peer.seqs('hello')).toEqual([7, 7]);
    peer.replyHello(7);
    const link = await open;
    expect(link.stats.retransmissions).toBe(1);
    await link.close();
  });

  it('NAKed while queued, then answered: no deadline is left behind', async () => {
    const clock = new StepClock();
    const peer = new WirePeer();
    peer.hold();
    const open = Link.open(peer.transport, { timers: clock, initialSeq: 7, retransmitTimeoutMs: 100 });
    await clock.advance(10);
    peer.nak(7);
    await clock.advance(40);
    peer.release();
    await clock.advance(10);
    peer.replyHello(7);
    const link = await open;
    await flush();
    expect(clock.pending).toBe(0);
    await link.close();
  });

  it('answered while its bytes are still in the transport, it leaves no deadline behind', async () => {
    const clock = new StepClock();
    const peer = new WirePeer();
    peer.hold();
    const open = Link.open(peer.transport, { timers: clock, initialSeq: 7, retransmitTimeoutMs: 100 });
    await flush();
    peer.replyHello(7);
    const link = await open;
    peer.release();
    await flush();
    expect(clock.pending).toBe(0);
    await clock.advance(500);
    expect(peer.seqs('hello')).toEqual([7]);
    await link.close();
  });

  it('refused by the board: open() rejects with LinkProtocolError and closes the transport', async () => {
    const { peer, outcome } = opening();
    await flush();
    peer.send({ kind: 'reply', seq: 7, command: 'hello', mark: 0, result: { status: Status.BAD_VERSION } });
    const { error } = await outcome;
    expect(error).toBeInstanceOf(LinkProtocolError);
    expect((error as Error).message).toBe(
      'the board refused HELLO with status 4: it may speak another protocol version',
    );
    expect(peer.closes).toBe(1);
  });

  it('takes an answer that arrives in pieces', async () => {
    const { clock, peer, outcome } = opening();
    await flush();
    const reply = encodeMessage({
      kind: 'reply',
      seq: 7,
      command: 'hello',
      mark: 0,
      result: { status: Status.OK, hello: helloInfo() },
    });
    peer.sendRaw(reply.subarray(0, 20));
    await clock.advance(5);
    peer.sendRaw(reply.subarray(20));
    const { link, error } = await outcome;
    expect(error).toBeUndefined();
    expect(link!.state).toBe('open');
    // The transport it runs on, for whoever changes its rate.
    expect(link!.transportInUse).toBe(peer.transport);
    await link!.close();
  });

  it('takes no HELLO reply with another seq for its own', async () => {
    const { peer, outcome } = opening();
    await flush();
    peer.replyHello(8, helloInfo({ window: 1 }));
    await flush();
    peer.replyHello(7, helloInfo({ window: 2 }));
    const { link } = await outcome;
    expect(link!.helloInfo.window).toBe(2);
    expect(link!.stats.unmatchedReplies).toBe(1);
    await link!.close();
  });
});

describe('Link.reopen: HELLO', () => {
  it('counts a HELLO reply that answers nothing, and keeps working', async () => {
    const s = await openScripted();
    s.peer.replyHello(s.helloSeq); // a copy of the answer that opened the session
    await flush();
    expect(s.link.stats.unmatchedReplies).toBe(1);
    expect(s.link.state).toBe('open');
    const p = s.link.request(ping);
    await flush();
    s.peer.reply(s.peer.requests()[0]!);
    expect((await p).result.status).toBe(Status.OK);
    await s.link.close();
  });

  it('sends the requests made while it opened once it is answered', async () => {
    const s = await openScripted();
    const reopening = s.link.reopen();
    const p = s.link.request(ping);
    await flush();
    expect(s.peer.requests().map((r) => r.command)).toEqual(['hello']);
    const hello = s.peer.requests('hello')[0]!;
    s.peer.replyHello(hello.seq);
    await reopening;
    await flush();
    expect(s.peer.requests().map((r) => [r.command, r.seq])).toEqual([
      ['hello', hello.seq],
      ['ping', hello.seq + 1],
    ]);
    s.peer.reply(s.peer.requests('ping')[0]!);
    expect((await p).seq).toBe(hello.seq + 1);
    expect(s.link.stats.unmatchedReplies).toBe(0);
    await s.link.close();
  });

  it('gives up after its attempts: the link has no session and says to reopen', async () => {
    const s = await openScripted();
    const reopening = s.link.reopen().catch((e: unknown) => e);
    await s.clock.advance(400);
    const error = (await reopening) as LinkTimeoutError;
    expect(error).toBeInstanceOf(LinkTimeoutError);
    expect(error.message).toBe(`the board did not answer HELLO after 4 attempts${NO_ANSWER}`);
    expect(s.link.state).toBe('no-session');
    expect(s.link.stats).toMatchObject({ timeouts: 1, retransmissions: 3 });
    const refused = (await s.link.request(ping).catch((e: unknown) => e)) as LinkTimeoutError;
    expect(refused).toBeInstanceOf(LinkTimeoutError);
    expect(refused.message).toBe(
      `${error.message} (the session was abandoned; call reopen() to start a new one)`,
    );
    expect([refused.command, refused.attempts]).toEqual(['hello', 4]);
    // And a new session can be opened.
    await reopenScripted(s);
    expect(s.link.state).toBe('open');
    await s.link.close();
  });

  it('refused by the board: the link has no session, and requests fail with the refusal', async () => {
    const s = await openScripted();
    const reopening = s.link.reopen().catch((e: unknown) => e);
    await flush();
    const hello = s.peer.requests('hello')[0]!;
    s.peer.send({
      kind: 'reply',
      seq: hello.seq,
      command: 'hello',
      mark: 0,
      result: { status: Status.BAD_VERSION },
    });
    const error = await reopening;
    expect(error).toBeInstanceOf(LinkProtocolError);
    expect(s.link.state).toBe('no-session');
    expect(s.link.stats.unmatchedReplies).toBe(0);
    expect(await s.link.request(ping).catch((e: unknown) => e)).toBe(error);
    await s.link.close();
  });

  it('refuses a second reopen() while one is opening', async () => {
    const s = await openScripted();
    const first = s.link.reopen();
    const second = await s.link.reopen().catch((e: unknown) => e);
    expect(second).toBeInstanceOf(LinkUsageError);
    expect((second as Error).message).toBe('a session is already being opened; wait for it');
    await flush();
    expect(s.peer.requests('hello')).toHaveLength(1);
    s.peer.replyHello(s.peer.requests('hello')[0]!.seq);
    await first;
    await s.link.close();
  });

  it('rejects with LinkClosedError when the link is closed while it opens, leaving no deadline', async () => {
    const s = await openScripted();
    const reopening = s.link.reopen().catch((e: unknown) => e);
    await flush();
    await s.link.close();
    const error = await reopening;
    expect(error).toBeInstanceOf(LinkClosedError);
    expect((error as Error).message).toBe('the link was closed by the application');
    expect(s.clock.pending).toBe(0);
  });

  it('refuses to reopen a closed link', async () => {
    const s = await openScripted();
    const seen: LinkNotification[] = [];
    s.link.subscribe((n) => seen.push(n));
    await s.link.close();
    const error = await s.link.reopen().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LinkClosedError);
    expect((error as Error).message).toBe('the link was closed by the application');
    await flush();
    expect(s.peer.requests()).toEqual([]);
    expect(seen.map((n) => n.kind)).toEqual(['closed']);
    expect(s.link.state).toBe('closed');
  });
});
