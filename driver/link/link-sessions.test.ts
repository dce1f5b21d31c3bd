import { describe, expect, it } from 'vitest';
import { Status } from '../protocol/index.ts';
import { openOnFake } from '../test-support/link-harness.ts';
import { settle } from '../test-support/manual-timers.ts';
import { DeviceResetError, SessionEndedError } from './errors.ts';
import type { LinkNotification } from './link.ts';

const ping = (n: number) => ({ command: 'ping' as const, data: Uint8Array.of(n) });
const pingsSeen = (board: { received: { command: string; data?: Uint8Array }[] }) =>
  board.received.filter((r) => r.command === 'ping').map((r) => r.data?.[0]);

describe('Link: a request belongs to the session it was made in', () => {
  it('fails a request still queued when reopen() starts, without sending it', async () => {
    const { link, board } = await openOnFake({ board: { window: 1 }, link: { retransmitTimeoutMs: 5000 } });
    // Ping 1 runs but its reply is lost: it stays in flight, ping 2 waits behind it.
    board.onRequest = (r) => (r.command === 'ping' && r.data[0] === 1 ? 'drop-reply' : 'process');
    const inFlight = link.request(ping(1)).catch((e: unknown) => e);
    const queued = link.request(ping(2)).catch((e: unknown) => e);
    await settle();
    expect(pingsSeen(board)).toEqual([1]);
    const reopening = link.reopen();
    const err = await queued;
    expect(err).toBeInstanceOf(SessionEndedError);
    expect((err as SessionEndedError).sent).toBe(false);
    expect(await inFlight).toBeInstanceOf(SessionEndedError);
    expect(((await inFlight) as SessionEndedError).sent).toBe(true);
    await reopening;
    expect((await link.request(ping(3))).result.status).toBe(Status.OK);
    expect(pingsSeen(board)).toEqual([1, 3]);
    await link.close();
  });

  it('refuses, unsent, a request bound to a session that has ended', async () => {
    const { link, board } = await openOnFake();
    const old = link.sessionId;
    await link.reopen();
    expect(link.sessionId).not.toBe(old);
    const err = await link.request(ping(7), { session: old }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionEndedError);
    expect(pingsSeen(board)).toEqual([]);
    expect((await link.request(ping(8), { session: link.sessionId })).result.status).toBe(Status.OK);
    await link.close();
  });

  it('tells subscribers a session is opening before its HELLO goes out', async () => {
    const { link, board } = await openOnFake();
    const order: string[] = [];
    link.subscribe((n: LinkNotification) => {
      if (n.kind === 'session-opening') order.push(`opening, ${board.received.length} received`);
    });
    const before = board.received.length;
    await link.reopen();
    expect(order).toEqual([`opening, ${before} received`]);
    await link.close();
  });

  it('fails the requests queued behind a HELLO when the board resets while it opens', async () => {
    const { link, board } = await openOnFake({ link: { retransmitTimeoutMs: 200 } });
    let helloDropped = false;
    board.onRequest = (r) => {
      if (r.command === 'hello' && !helloDropped) {
        helloDropped = true;
        return 'drop-request';
      }
      return 'process';
    };
    const reopening = link.reopen();
    const queued = link.request(ping(5)).catch((e: unknown) => e);
    await settle();
    board.reset();
    const err = await queued;
    expect(err, String(err)).toBeInstanceOf(DeviceResetError);
    await reopening;
    expect(link.state).toBe('open');
    expect(pingsSeen(board)).toEqual([]);
    expect((await link.request(ping(6))).result.status).toBe(Status.OK);
    await link.close();
  });
});
