/**
 * Resets, sessions and the board's event sequence, on a scripted board:
 * how each kind of evidence of a reset ends the session once, which
 * session a request belongs to, and which events are news.
 */
import { describe, expect, it } from 'vitest';
import { type BoardEvent, Status } from '../protocol/index.ts';
import { flush, StepClock } from '../test-support/step-clock.ts';
import {
  helloInfo,
  openScripted,
  reopenScripted,
  type Scripted,
  WirePeer,
} from '../test-support/wire-peer.ts';
import { DeviceResetError, LinkTimeoutError, SessionEndedError } from './errors.ts';
import { Link, type LinkNotification } from './link.ts';

const EPOCH = 0x1234_5678;
const NEW_EPOCH = 0x0bad_cafe;

const ping = (n: number) => ({ command: 'ping' as const, data: Uint8Array.of(n) });
const dma = (counter: number): BoardEvent => ({
  kind: 'event',
  event: 'dma',
  counter,
  channel: 1,
  flags: 2,
  cndtr: 0,
  ccr: 0x93,
  completions: 1,
  starts: 1,
});
const boot = (bootEpoch: number): BoardEvent => ({
  kind: 'event',
  event: 'boot',
  counter: 0,
  bootEpoch,
  firmwareVersion: { major: 2, minor: 4, patch: 0 },
});

function record(s: Scripted): LinkNotification[] {
  const seen: LinkNotification[] = [];
  s.link.subscribe((n) => seen.push(n));
  return seen;
}

const kinds = (seen: LinkNotification[]) => seen.map((n) => n.kind);

describe('Link: a BOOT event', () => {
  it('fails what is pending with DeviceResetError, once, however often the news comes', async () => {
    const s = await openScripted();
    const seen = record(s);
    const pending = [1, 2].map((n) => s.link.request(ping(n)).catch((e: unknown) => e));
    await flush();
    s.peer.send(boot(NEW_EPOCH));
    const errors = (await Promise.all(pending)) as DeviceResetError[];
    for (const e of errors) {
      expect(e).toBeInstanceOf(DeviceResetError);
      expect([e.previousEpoch, e.bootEpoch, e.evidence]).toEqual([EPOCH, NEW_EPOCH, 'boot-event']);
    }
    expect(s.link.state).toBe('no-session');
    expect(s.link.epoch).toBe(NEW_EPOCH);
    // The same BOOT again (the line repeated it), and the two requests' NO_SESSION replies.
    s.peer.send(boot(NEW_EPOCH));
    for (const seq of [101, 102]) {
      s.peer.reply({ seq, command: 'ping' }, { status: Status.NO_SESSION, bootEpoch: NEW_EPOCH });
    }
    await flush();
    expect(kinds(seen).filter((k) => k === 'reset')).toHaveLength(1);
    expect(s.link.stats.resets).toBe(1);
    expect(s.link.stats.unmatchedReplies).toBe(2);
    // Each refusal is a new error telling the same.
    const a = await s.link.request(ping(3)).catch((e: unknown) => e);
    const b = await s.link.request(ping(4)).catch((e: unknown) => e);
    expect(a).toBeInstanceOf(DeviceResetError);
    expect(a).not.toBe(b);
    expect(a).toEqual(b);
    expect((a as DeviceResetError).message).toBe(errors[0]!.message);
    // The new session's HELLO carries the epoch already known: no second reset.
    await reopenScripted(s, { bootEpoch: NEW_EPOCH });
    await reopenScripted(s, { bootEpoch: NEW_EPOCH });
    expect(s.link.stats.resets).toBe(1);
    await s.link.close();
  });

  it('while no session is open: reported, and the link still refuses work for what ended the session', async () => {
    const s = await openScripted({ link: { maxRetries: 0 } });
    const seen = record(s);
    const p = s.link.request(ping(1)).catch((e: unknown) => e);
    await s.clock.advance(100);
    expect(await p).toBeInstanceOf(LinkTimeoutError);
    const session = s.link.sessionId;
    s.peer.send(boot(NEW_EPOCH));
    await flush();
    expect(kinds(seen)).toEqual(['reset', 'event']);
    expect(s.link.epoch).toBe(NEW_EPOCH);
    expect(s.link.sessionId).toBe(session);
    expect(s.link.state).toBe('no-session');
    expect(await s.link.request(ping(2)).catch((e: unknown) => e)).toBeInstanceOf(LinkTimeoutError);
    await s.link.close();
  });

  it('while a session opens: requests made before it fail, those made after it wait for the session', async () => {
    const s = await openScripted();
    const seen = record(s);
    const reopening = s.link.reopen();
    const before = s.link.request(ping(1)).catch((e: unknown) => e);
    await flush();
    s.peer.send(boot(NEW_EPOCH));
    expect(await before).toBeInstanceOf(DeviceResetError);
    const after = s.link.request(ping(2));
    await flush();
    const hello = s.peer.requests('hello')[0]!;
    s.peer.replyHello(hello.seq, helloInfo({ bootEpoch: NEW_EPOCH }));
    await reopening;
    await flush();
    expect(s.peer.requests('ping').map((r) => r.seq)).toEqual([hello.seq + 1]);
    s.peer.reply({ seq: hello.seq + 1, command: 'ping' });
    expect((await after).seq).toBe(hello.seq + 1);
    expect(kinds(seen).filter((k) => k === 'reset')).toHaveLength(1);
    await s.link.close();
  });

  it('before the first session opened is no reset: the session starts after it', async () => {
    const clock = new StepClock();
    const peer = new WirePeer();
    const open = Link.open(peer.transport, { timers: clock, initialSeq: 7 });
    await flush();
    // The board ran before the host came (an event), then reset (BOOT); then HELLO's answer.
    peer.send(dma(5));
    peer.send(boot(EPOCH));
    peer.replyHello(7, helloInfo({ bootEpoch: EPOCH }));
    const link = await open;
    expect(link.stats).toMatchObject({ events: 2, duplicateEvents: 0, resets: 0 });
    expect(link.epoch).toBe(EPOCH);
    await link.close();
  });
});

describe('Link: NO_SESSION', () => {
  it('fails the request with DeviceResetError; its mark counts events of the new boot', async () => {
    const s = await openScripted();
    const seen = record(s);
    const p = s.link.request(ping(1)).catch((e: unknown) => e);
    await flush();
    s.peer.reply({ seq: 101, command: 'ping' }, { status: Status.NO_SESSION, bootEpoch: NEW_EPOCH }, 50);
    const error = (await p) as DeviceResetError;
    expect([error.previousEpoch, error.bootEpoch, error.evidence]).toEqual([EPOCH, NEW_EPOCH, 'no-session']);
    await flush();
    expect(kinds(seen)).toEqual(['reset']);
    expect(s.link.stats.eventsLost).toBe(0);
    await s.link.close();
  });

  it('after it, the events of the new boot are news, even when its BOOT was lost', async () => {
    const s = await openScripted();
    for (let c = 0; c < 4; c++) s.peer.send(dma(c));
    const p = s.link.request(ping(1)).catch((e: unknown) => e);
    await flush();
    s.peer.reply({ seq: 101, command: 'ping' }, { status: Status.NO_SESSION, bootEpoch: NEW_EPOCH }, 0);
    await p;
    const seen = record(s);
    s.peer.send(dma(1));
    await flush();
    expect(seen).toEqual([{ kind: 'event', event: dma(1) }]);
    await s.link.close();
  });
});

describe('Link: sessions', () => {
  it('a request bound to any session that ended is refused, however that session ended', async () => {
    const s = await openScripted({ link: { maxRetries: 0 } });
    const opening: number[] = [];
    s.link.subscribe((n) => n.kind === 'session-opening' && opening.push(n.session));
    const ids = [s.link.sessionId];
    // Ended by a request given up.
    const p = s.link.request(ping(1)).catch((e: unknown) => e);
    await s.clock.advance(100);
    await p;
    await reopenScripted(s);
    ids.push(s.link.sessionId);
    // Ended by a reset.
    s.peer.send(boot(NEW_EPOCH));
    await flush();
    await reopenScripted(s, { bootEpoch: NEW_EPOCH });
    ids.push(s.link.sessionId);
    // A reset while the next one opened.
    const reopening = s.link.reopen();
    await flush();
    s.peer.send(boot(EPOCH));
    await flush();
    s.peer.replyHello(s.peer.requests('hello').at(-1)!.seq, helloInfo({ bootEpoch: EPOCH }));
    await reopening;
    expect(new Set([...ids, s.link.sessionId]).size).toBe(4);
    expect(opening).toEqual([ids[1], ids[2], opening[2]]);
    s.peer.clear();
    for (const old of ids) {
      const error = await s.link.request(ping(9), { session: old }).catch((e: unknown) => e);
      expect(error, `session ${old}`).toBeInstanceOf(SessionEndedError);
    }
    await flush();
    expect(s.peer.requests()).toEqual([]);
    await s.link.close();
  });

  it('reopening at the same epoch tells of no reset', async () => {
    const s = await openScripted();
    const seen = record(s);
    await reopenScripted(s);
    expect(kinds(seen)).toEqual(['session-opening']);
    expect(s.link.stats.resets).toBe(0);
    // A changed epoch does.
    await reopenScripted(s, { bootEpoch: NEW_EPOCH });
    expect(kinds(seen)).toEqual(['session-opening', 'session-opening', 'reset']);
    const reset = seen[2] as { error: DeviceResetError };
    expect([reset.error.previousEpoch, reset.error.bootEpoch, reset.error.evidence]).toEqual([
      EPOCH,
      NEW_EPOCH,
      'hello-epoch',
    ]);
    expect(s.link.stats.resets).toBe(1);
    await s.link.close();
  });

  it('fails what was pending when reopened, saying whether it was sent', async () => {
    const s = await openScripted({ hello: { window: 1 } });
    const inFlight = s.link.request(ping(1)).catch((e: unknown) => e);
    const queued = s.link.request(ping(2)).catch((e: unknown) => e);
    await flush();
    const reopening = reopenScripted(s);
    const sent = (await inFlight) as SessionEndedError;
    expect(sent.message).toBe(
      'ping was made in a session that ended before it was answered (the session was reopened): whether it ' +
        'ran is unknown, and a request is never sent in another session; re-read what it depends on and ' +
        'make it again',
    );
    expect(((await queued) as SessionEndedError).sent).toBe(false);
    await reopening;
    await s.link.close();
  });
});

describe('Link: the event sequence', () => {
  it('hands on a repeated event once, and counts the repeat', async () => {
    const s = await openScripted();
    const seen = record(s);
    s.peer.send(dma(0));
    s.peer.send(dma(0));
    s.peer.send(dma(1));
    await flush();
    expect(seen).toEqual([
      { kind: 'event', event: dma(0) },
      { kind: 'event', event: dma(1) },
    ]);
    expect(s.link.stats).toMatchObject({ events: 3, duplicateEvents: 1, eventsLost: 0 });
    await s.link.close();
  });

  it('reports and counts the events a gap in the counters shows lost', async () => {
    const s = await openScripted();
    const seen = record(s);
    s.peer.send(dma(0));
    s.peer.send(dma(3));
    await flush();
    expect(seen).toEqual([
      { kind: 'event', event: dma(0) },
      { kind: 'events-lost', expected: 1, received: 3, lost: 2 },
      { kind: 'event', event: dma(3) },
    ]);
    expect(s.link.stats.eventsLost).toBe(2);
    await s.link.close();
  });

  it("takes a NAK's mark while a session is open, not while one opens", async () => {
    const s = await openScripted();
    const seen = record(s);
    s.peer.nak(999, 3);
    await flush();
    expect(seen).toEqual([{ kind: 'events-lost', expected: 0, received: 3, lost: 3 }]);
    expect(s.link.stats.eventsLost).toBe(3);
    seen.length = 0;
    const reopening = s.link.reopen();
    await flush();
    const hello = s.peer.requests('hello')[0]!;
    s.peer.nak(hello.seq, 9);
    await flush();
    s.peer.replyHello(hello.seq, helloInfo(), 9);
    await reopening;
    expect(kinds(seen)).toEqual(['session-opening']);
    expect(s.link.stats.eventsLost).toBe(3);
    await s.link.close();
  });
});
