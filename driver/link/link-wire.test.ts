/**
 * The line as the link handles it, on a scripted board: the 0x00 before a
 * frame after a quiet spell, the counters it keeps of what crossed the line,
 * frames it cannot use, and how a transport that fails or ends, or an
 * application that closes, ends the link.
 */
import { describe, expect, it } from 'vitest';
import { encodeMessage, encodeRawFrame, PROTOCOL_VERSION, Status } from '../protocol/index.ts';
import { flush } from '../test-support/step-clock.ts';
import { openScripted, type Scripted } from '../test-support/wire-peer.ts';
import { LinkClosedError, LinkProtocolError, LinkUsageError } from './errors.ts';
import type { LinkNotification } from './link.ts';

const ping = (n: number) => ({ command: 'ping' as const, data: Uint8Array.of(n) });
const dma = (counter: number) =>
  ({
    kind: 'event',
    event: 'dma',
    counter,
    channel: 1,
    flags: 2,
    cndtr: 0,
    ccr: 0x93,
    completions: 1,
    starts: 1,
  }) as const;

function record(s: Scripted): LinkNotification[] {
  const seen: LinkNotification[] = [];
  s.link.subscribe((n) => seen.push(n));
  return seen;
}

describe('Link: the 0x00 before a frame', () => {
  it('goes before a frame sent 10 ms or more after the last one (by default), not before one sent sooner', async () => {
    const s = await openScripted();
    const leads: boolean[] = [];
    const send = async (n: number) => {
      void s.link.request(ping(n)).catch(() => {});
      await flush();
      leads.push(s.peer.chunks.at(-1)![0] === 0);
    };
    await send(1); // right after HELLO
    await s.clock.advance(9);
    await send(2);
    await s.clock.advance(10);
    await send(3);
    expect(leads).toEqual([false, false, true]);
    await s.link.close();
  });

  it('follows idleFlushMs', async () => {
    const s = await openScripted({ link: { idleFlushMs: 50 }, hello: { window: 8 } });
    const leads: boolean[] = [];
    const send = async (n: number) => {
      void s.link.request(ping(n)).catch(() => {});
      await flush();
      leads.push(s.peer.chunks.at(-1)![0] === 0);
    };
    await s.clock.advance(20);
    await send(1);
    await s.clock.advance(49);
    await send(2);
    await s.clock.advance(50);
    await send(3);
    expect(leads).toEqual([false, false, true]);
    await s.link.close();
  });
});

describe('Link: its counters of the line', () => {
  it('counts frames and bytes each way', async () => {
    const s = await openScripted();
    const p = s.link.request(ping(1));
    await flush();
    s.peer.nak(101);
    s.peer.send(dma(0));
    await flush();
    s.peer.reply({ seq: 101, command: 'ping' });
    await p;
    expect(s.link.stats).toMatchObject({
      framesSent: 3, // HELLO, the ping, its copy after the NAK
      bytesSent: s.peer.bytesFromLink,
      framesReceived: 4, // HELLO's reply, the NAK, the event, the reply
      bytesReceived: s.peer.bytesToLink,
      events: 1,
      naks: 1,
    });
    await s.link.close();
  });

  it('counts damaged and unreadable frames apart from the rest, and reports damage', async () => {
    const s = await openScripted();
    const seen = record(s);
    const bad = encodeMessage(dma(1));
    bad[3]! ^= 0x20;
    s.peer.sendRaw(bad);
    s.peer.sendRaw(encodeRawFrame(PROTOCOL_VERSION, 0x3f, 0, new Uint8Array(3)));
    // The board never sends requests: an echo of the host's own bytes.
    s.peer.send({ kind: 'request', command: 'ping', seq: 5, data: Uint8Array.of(1) });
    await flush();
    // Only HELLO's reply was a frame it could use.
    expect(s.link.stats).toMatchObject({ corruptFrames: 1, invalidFrames: 2, framesReceived: 1, events: 0 });
    expect(seen).toEqual([{ kind: 'frame-damaged' }]);
    await s.link.close();
  });

  it('counts a reply that answers nothing in flight, and drops it', async () => {
    const s = await openScripted();
    const p = s.link.request(ping(1));
    await flush();
    s.peer.reply({ seq: 150, command: 'ping' });
    // The right seq for another command: not its reply either.
    s.peer.reply({ seq: 101, command: 'reg-read' });
    await flush();
    expect(s.link.stats.unmatchedReplies).toBe(2);
    expect(s.link.inFlight).toBe(1);
    s.peer.reply({ seq: 101, command: 'ping' });
    expect((await p).seq).toBe(101);
    expect(s.link.state).toBe('open');
    await s.link.close();
  });
});

describe('Link: STALE', () => {
  it('fails the request with LinkProtocolError and goes on with the next', async () => {
    const s = await openScripted({ hello: { window: 1 } });
    const stale = s.link
      .request({ command: 'reg-write', address: 0x4001_3828, value: 1 })
      .catch((e: unknown) => e);
    const next = s.link.request(ping(2));
    await flush();
    s.peer.reply({ seq: 101, command: 'reg-write' }, { status: Status.STALE });
    const error = await stale;
    expect(error).toBeInstanceOf(LinkProtocolError);
    expect((error as Error).message).toBe(
      'the board executed reg-write (seq 101) but no longer has its reply (STALE): re-read the state it changed',
    );
    await flush();
    expect(s.peer.seqs()).toEqual([101, 102]);
    s.peer.reply({ seq: 102, command: 'ping' });
    expect((await next).seq).toBe(102);
    expect(s.link.state).toBe('open');
    await s.link.close();
  });
});

describe('Link: the end of the line', () => {
  it('a write the transport fails closes the link with LinkClosedError', async () => {
    const s = await openScripted();
    const seen = record(s);
    const boom = new Error('boom');
    s.peer.failWrites(boom);
    const error = (await s.link.request(ping(1)).catch((e: unknown) => e)) as LinkClosedError;
    expect(error).toBeInstanceOf(LinkClosedError);
    expect(error.message).toBe('writing to the transport failed: boom');
    expect(error.cause).toBe(boom);
    expect(s.link.state).toBe('closed');
    expect(seen).toEqual([{ kind: 'closed', error }]);
    expect(s.peer.closes).toBe(1);
    expect(await s.link.request(ping(2)).catch((e: unknown) => e)).toBe(error);
    await s.link.close();
    expect(s.peer.closes).toBe(1);
  });

  it('the transport ending fails everything pending and closes the link', async () => {
    const s = await openScripted();
    const seen = record(s);
    const p = s.link.request(ping(1)).catch((e: unknown) => e);
    await flush();
    s.peer.end();
    const error = (await p) as LinkClosedError;
    expect(error).toBeInstanceOf(LinkClosedError);
    expect(error.message).toBe('the transport closed: the board or its port went away');
    await flush();
    expect(seen).toEqual([{ kind: 'closed', error }]);
    expect(s.link.state).toBe('closed');
    expect(s.peer.closes).toBe(1);
    expect(s.peer.transport.writable.locked).toBe(false);
  });

  it('the transport failing fails everything pending with its reason', async () => {
    const s = await openScripted();
    const p = s.link.request(ping(1)).catch((e: unknown) => e);
    await flush();
    const unplugged = new Error('unplugged');
    s.peer.fail(unplugged);
    const error = (await p) as LinkClosedError;
    expect(error).toBeInstanceOf(LinkClosedError);
    expect(error.message).toBe('the transport failed: unplugged');
    expect(error.cause).toBe(unplugged);
    await flush();
    expect(s.peer.closes).toBe(1);
  });

  it('close() fails what is pending, stops reading, lets go of the transport and closes it, once', async () => {
    const s = await openScripted();
    const seen = record(s);
    const p = s.link.request(ping(1)).catch((e: unknown) => e);
    await flush();
    await s.link.close();
    const error = (await p) as LinkClosedError;
    expect(error).toBeInstanceOf(LinkClosedError);
    expect(error.message).toBe('the link was closed by the application');
    expect(s.peer.cancelled).toBe(true);
    expect(s.peer.transport.writable.locked).toBe(false);
    await s.link.close();
    await flush();
    expect(seen).toEqual([{ kind: 'closed', error }]);
    expect(s.peer.closes).toBe(1);
    expect(s.clock.pending).toBe(0);
    const refused = await s.link.request(ping(2)).catch((e: unknown) => e);
    expect(refused).toBe(error);
  });

  it('frames that arrive as the link closes are not acted on', async () => {
    const s = await openScripted();
    const seen = record(s);
    // One chunk, read just before close() and handled after it: a BOOT of a new boot, then a frame cut short.
    const bootFrame = encodeMessage({
      kind: 'event',
      event: 'boot',
      counter: 0,
      bootEpoch: 0x7777,
      firmwareVersion: s.link.helloInfo.firmwareVersion,
    });
    s.peer.sendRaw(Uint8Array.from([...bootFrame, ...encodeMessage(dma(1)).subarray(0, 6)]));
    await s.link.close();
    await s.clock.advance(1000);
    expect(seen.filter((n) => n.kind === 'reset' || n.kind === 'frame-damaged')).toEqual([]);
    expect(s.link.stats).toMatchObject({ resets: 0, corruptFrames: 0 });
    expect(s.clock.pending).toBe(0);
  });
});

describe('Link: its subscribers', () => {
  it('an unsubscribed listener hears nothing more', async () => {
    const s = await openScripted();
    const heard: string[] = [];
    const unsubscribe = s.link.subscribe((n) => heard.push(n.kind));
    s.peer.send(dma(0));
    await flush();
    unsubscribe();
    s.peer.send(dma(1));
    await flush();
    expect(heard).toEqual(['event']);
    await s.link.close();
    expect(heard).toEqual(['event']);
  });

  it('HELLO is not a request', async () => {
    const s = await openScripted();
    // @ts-expect-error HELLO is not a sequenced request
    const error = await s.link.request({ command: 'hello' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LinkUsageError);
    expect((error as Error).message).toBe(
      'HELLO opens the session: use Link.open() or reopen(), not request()',
    );
    await s.link.close();
  });
});
