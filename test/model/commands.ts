/**
 * The model test's commands: one per thing a program (or an adversary
 * holding the program's objects) can do with the driver, each a step of
 * the system in system.ts. A command never asserts on an operation's
 * outcome (a faulty line may fail any of them, with a typed error): the
 * checks after every step say whether the board's memory stayed safe.
 */

import fc from 'fast-check';
import { Serial1, type SerialRx, type SerialTx, type Transfer } from '../../driver/api/index.ts';
import { AlreadyTakenError, type DmaBuffer } from '../../driver/board/index.ts';
import { type HeldBuffer, MODEL_BAUD, type ModelSystem, type Transmitting, tagged } from './system.ts';

export interface ModelState {
  steps: number;
}

export type ModelCommand = fc.AsyncCommand<ModelState, ModelSystem>;

export interface CommandOptions {
  /** Wall-clock limit of one step, ms: beyond it the step is a freeze. */
  wallLimitMs: number;
}

/** A command from a name (with its parameters, for the printed counterexample) and a body. */
function command(
  name: string,
  options: CommandOptions,
  body: (s: ModelSystem) => Promise<void>,
): ModelCommand {
  return {
    check: () => true,
    run: async (m, s) => {
      m.steps++;
      await s.step(name, () => body(s), options.wallLimitMs);
    },
    toString: () => name,
  };
}

// ------------------------------------------------------------ helpers

/** The program's Serial1: the one it holds, the halves joined, or a new take (after recover() if need be). */
async function serialOf(s: ModelSystem): Promise<Serial1> {
  const st = s.serial;
  if (st.kind === 'whole') {
    s.serial = { kind: 'none' }; // moved into whatever the caller does; set again when handed back
    return st.serial;
  }
  if (st.kind === 'split' && st.tx && st.rx) {
    s.serial = { kind: 'none' };
    return Serial1.join(st.tx, st.rx);
  }
  try {
    return await take(s);
  } catch (error) {
    if (!(error instanceof AlreadyTakenError)) throw error;
    // The program dropped its serial (or a half): only recover() gives USART1 back.
    await recover(s);
    return take(s);
  }
}

function take(s: ModelSystem): Promise<Serial1> {
  return s.track(
    'Serial1.take()',
    Serial1.take(s.board, { baudRate: MODEL_BAUD, onWarning: (m) => s.warnings.push(m) }),
  );
}

async function recover(s: ModelSystem): Promise<void> {
  await s.track('board.recover()', s.board.recover());
  s.boundary('board.recover()');
}

/** A fresh buffer of `length` bytes, held by the program. */
function alloc(s: ModelSystem, length: number, align = 4): HeldBuffer {
  const buffer = s.board.alloc(length, { align });
  // The range as the driver handed it out, before anyone could change the object.
  return s.hold(buffer, { address: buffer.address, length: buffer.length });
}

/** A buffer the program owns (index picks one), or a new one of `length` bytes. */
function ownedOrNew(s: ModelSystem, index: number, length: number): HeldBuffer {
  return s.pickOwned(index) ?? alloc(s, length);
}

/** Moves `h` into a transfer the way the API does: the program no longer owns it. */
function lend(h: HeldBuffer): void {
  h.state = 'lent';
}

type Finish = 'wait' | 'stop' | 'forget' | 'dispose';

/** Ends a transfer the way `finish` says; hands buffer and serial back when it does. */
async function finish<S>(
  s: ModelSystem,
  what: string,
  transfer: Transfer<S>,
  h: HeldBuffer,
  how: Finish,
  keep: (serial: S) => void,
  tx?: Transmitting,
): Promise<void> {
  if (how === 'forget') {
    // Dropped without waiting: its start must still end within the deadline.
    void s.track(`the start of ${what}`, transfer.started).catch(() => {});
    return;
  }
  if (how === 'dispose') {
    await s.track(`${what} disposed`, transfer[Symbol.asyncDispose]());
    // Whether it ran or not, it is over (or left in doubt until a boundary).
    if (transfer.isDone()) tx?.bar('it was disposed of', 2);
    return;
  }
  const done = await s.track(`${what}.${how}()`, how === 'wait' ? transfer.wait() : transfer.stop());
  // Stopped (the board confirmed it) or complete: what is left in USART1 may still leave.
  tx?.bar(how === 'wait' ? 'it completed' : 'it was stopped', 2);
  s.handedBack(h, done.buffer);
  keep(done.serial);
}

const keepWhole = (s: ModelSystem) => (serial: Serial1) => {
  s.serial = { kind: 'whole', serial };
};

// ------------------------------------------------------------ commands

/** The kinds of command, to run a subset (MODEL_ONLY, MODEL_EXCLUDE). */
export const COMMAND_KINDS = [
  'alloc',
  'free',
  'write',
  'writeAll',
  'readExact',
  'readCircular',
  'stream',
  'split',
  'reconnect',
  'recover',
  'reset',
  'take',
  'drop',
  'raw',
  'tamper',
  'noise',
  'idle',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

export function commandArbitraries(
  options: CommandOptions,
  kinds: readonly CommandKind[] = COMMAND_KINDS,
): fc.Arbitrary<ModelCommand>[] {
  const c = (name: string, body: (s: ModelSystem) => Promise<void>) => command(name, options, body);
  const finishArb = fc.constantFrom<Finish>('wait', 'wait', 'stop', 'forget', 'dispose');

  const all: fc.Arbitrary<ModelCommand>[] = [
    fc
      .record({ length: fc.integer({ min: 1, max: 1536 }), align: fc.constantFrom(1, 2, 4, 16) })
      .map(({ length, align }) =>
        c(`alloc(${length}, align ${align})`, async (s) => {
          alloc(s, length, align);
        }),
      ),

    fc.nat().map((i) =>
      c(`free(#${i})`, async (s) => {
        const h = s.pickOwned(i);
        if (!h) return;
        h.state = 'gone';
        h.buffer.free();
      }),
    ),

    fc.record({ i: fc.nat(), n: fc.integer({ min: 1, max: 512 }) }).map(({ i, n }) =>
      c(`write+read(#${i}, ${n} bytes)`, async (s) => {
        const h = s.pickOwned(i);
        if (!h) return;
        const data = tagged(s.newId(), Math.min(n, h.region.length));
        await s.track('buffer.write()', h.buffer.write(data));
        const back = await s.track('buffer.read()', h.buffer.read(0, data.length));
        if (back.some((b, k) => b !== data[k]))
          s.fail(`buffer #${h.id} read back other bytes than were written`);
      }),
    ),

    fc.record({ i: fc.nat(), n: fc.integer({ min: 1, max: 1024 }), how: finishArb }).map(({ i, n, how }) =>
      c(`writeAll(#${i}, ${n} bytes, ${how})`, async (s) => {
        const h = ownedOrNew(s, i, n);
        const data = tagged(s.newId(), h.region.length);
        await s.track('buffer.write()', h.buffer.write(data));
        const serial = await serialOf(s);
        const tx = s.transmission('writeAll()', data);
        lend(h);
        let transfer: Transfer<Serial1>;
        try {
          transfer = serial.writeAll(h.buffer);
        } catch (error) {
          tx.bar('its start was refused');
          h.state = 'owned';
          s.serial = { kind: 'whole', serial };
          throw error;
        }
        transfer.started.catch((e: unknown) => {
          if (!(e instanceof Error && e.name === 'TransferInDoubtError')) tx.bar('its start failed');
        });
        await finish(s, 'writeAll()', transfer, h, how, keepWhole(s), tx);
      }),
    ),

    fc
      .record({ i: fc.nat(), n: fc.integer({ min: 1, max: 512 }), how: finishArb, inject: fc.boolean() })
      .map(({ i, n, how, inject }) =>
        c(`readExact(#${i}, ${n} bytes, ${how}${inject ? ', peer sends' : ''})`, async (s) => {
          const h = ownedOrNew(s, i, n);
          const serial = await serialOf(s);
          lend(h);
          let transfer: Transfer<Serial1>;
          try {
            transfer = serial.readExact(h.buffer);
          } catch (error) {
            h.state = 'owned';
            s.serial = { kind: 'whole', serial };
            throw error;
          }
          const data = tagged(s.newId(), h.region.length);
          const started = await s.track('readExact() start', transfer.started).then(
            () => true,
            () => false,
          );
          if (!started) {
            if (how !== 'forget') await finish(s, 'readExact()', transfer, h, 'stop', keepWhole(s));
            return;
          }
          if (inject || how === 'wait') s.vb.peer.inject(data);
          await finish(s, 'readExact()', transfer, h, how, keepWhole(s));
          if (how === 'wait' && h.state === 'owned') {
            const got = await s.track('buffer.read()', h.buffer.read());
            if (got.some((b, k) => b !== data[k]))
              s.fail(`readExact() filled buffer #${h.id} with other bytes than the peer sent`);
          }
        }),
      ),

    fc
      .record({ half: fc.integer({ min: 1, max: 8 }), halves: fc.integer({ min: 0, max: 3 }) })
      .map(({ half, halves }) =>
        c(`readCircular(${16 * half}-byte halves, ${halves} read)`, async (s) => {
          const h = alloc(s, 32 * half);
          const serial = await serialOf(s);
          lend(h);
          const rec = serial.readCircular(h.buffer);
          const ok = await s.track('readCircular() start', rec.started).then(
            () => true,
            () => false,
          );
          if (ok) {
            const it = rec[Symbol.asyncIterator]();
            for (let k = 0; k < halves; k++) {
              const data = tagged(s.newId(), 16 * half);
              s.vb.peer.inject(data);
              const r = await s.track('readCircular() next half', it.next());
              if (r.done) break;
              if (r.value.some((b, j) => b !== data[j]))
                s.fail('a circular half holds other bytes than the peer sent');
            }
          }
          const back = await s.track('readCircular().stop()', rec.stop());
          s.handedBack(h, back.buffer);
          s.serial = { kind: 'whole', serial: back.serial };
        }),
      ),

    fc
      .record({
        n: fc.integer({ min: 1, max: 4096 }),
        chunk: fc.integer({ min: 1, max: 16 }),
        abortAfterMs: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
      })
      .map(({ n, chunk, abortAfterMs }) =>
        c(
          `streamWriter(${n} bytes, ${64 * chunk}-byte chunks${abortAfterMs === undefined ? '' : `, abort after ${abortAfterMs} ms`})`,
          async (s) => {
            const serial = await serialOf(s);
            const data = tagged(s.newId(), n);
            const tx = s.transmission('a stream writer', data);
            const writer = serial.streamWriter({ chunkSize: 64 * chunk });
            const writing = s.track('streamWriter.write()', writer.write(data)).catch(() => {});
            if (abortAfterMs === undefined) {
              await writing;
              const back = await s.track('streamWriter.close()', writer.close()).catch(async (e: unknown) => {
                await s.track('streamWriter.abort()', writer.abort()).catch(() => {});
                throw e;
              });
              s.serial = { kind: 'whole', serial: back };
              return;
            }
            await s.sleep(abortAfterMs);
            const { serial: back, bytesSent } = await s.track('streamWriter.abort()', writer.abort());
            await writing;
            // What USART1 still holds may leave after the stop; abort() counts it as sent.
            tx.bar(`the stream was aborted after ${bytesSent} bytes`, Math.max(0, bytesSent - tx.sent));
            if (tx.sent > bytesSent)
              s.fail(`abort() said ${bytesSent} bytes went out, the peer got ${tx.sent}`);
            s.serial = { kind: 'whole', serial: back };
          },
        ),
      ),

    fc
      .record({ i: fc.nat(), n: fc.integer({ min: 1, max: 256 }), join: fc.boolean() })
      .map(({ i, n, join }) =>
        c(`split(): tx writeAll and rx readExact of ${n} bytes${join ? ', join' : ''}`, async (s) => {
          let halves: { tx: SerialTx | undefined; rx: SerialRx | undefined };
          if (s.serial.kind === 'split') halves = s.serial;
          else halves = (await serialOf(s)).split();
          s.serial = { kind: 'split', ...halves };
          const { tx, rx } = halves;
          if (!tx || !rx) return;
          const out = ownedOrNew(s, i, n);
          const inBuf = alloc(s, n);
          const data = tagged(s.newId(), out.region.length);
          await s.track('buffer.write()', out.buffer.write(data));
          const sending = s.transmission('SerialTx.writeAll()', data);
          s.serial = { kind: 'split', tx: undefined, rx: undefined };
          lend(out);
          lend(inBuf);
          const w = tx.writeAll(out.buffer);
          const r = rx.readExact(inBuf.buffer);
          w.started.catch((e: unknown) => {
            if (!(e instanceof Error && e.name === 'TransferInDoubtError')) sending.bar('its start failed');
          });
          const peerData = tagged(s.newId(), n);
          if (
            await r.started.then(
              () => true,
              () => false,
            )
          )
            s.vb.peer.inject(peerData);
          const [wd, rd] = await Promise.allSettled([
            s.track('SerialTx.writeAll().wait()', w.wait()),
            s.track('SerialRx.readExact().wait()', r.wait()),
          ]);
          const back = { tx: undefined as SerialTx | undefined, rx: undefined as SerialRx | undefined };
          if (wd.status === 'fulfilled') {
            s.handedBack(out, wd.value.buffer);
            back.tx = wd.value.serial;
          }
          if (rd.status === 'fulfilled') {
            s.handedBack(inBuf, rd.value.buffer);
            back.rx = rd.value.serial;
          }
          s.serial = { kind: 'split', ...back };
          if (join && back.tx && back.rx)
            s.serial = { kind: 'whole', serial: Serial1.join(back.tx, back.rx) };
        }),
      ),

    fc
      .record({
        what: fc.constantFrom('readExact', 'writeAll', 'alloc', 'register'),
        n: fc.integer({ min: 16, max: 2048 }),
      })
      .map(({ what, n }) =>
        c(`reconnect() not awaited, then ${what} (${n} bytes)`, async (s) => {
          // The program holds a serial and a buffer from before.
          const serial = await serialOf(s);
          const h = alloc(s, n);
          const data = tagged(s.newId(), n);
          if (what === 'writeAll') await s.track('buffer.write()', h.buffer.write(data));
          const reconnecting = s.track('board.reconnect()', s.board.reconnect());
          let transfer: Transfer<Serial1> | undefined;
          try {
            if (what === 'readExact' || what === 'writeAll') {
              if (what === 'writeAll') {
                s.transmission('writeAll() made during reconnect()', data);
              }
              lend(h);
              transfer = what === 'readExact' ? serial.readExact(h.buffer) : serial.writeAll(h.buffer);
            } else if (what === 'alloc') {
              alloc(s, n);
            } else {
              await s.raw.readRegister(s.board.chip.dma.channels[1]!.cndtr.address);
            }
          } finally {
            await reconnecting.then(
              () => s.boundary('board.reconnect()'),
              (e: unknown) => {
                throw e;
              },
            );
          }
          // Its start ends one way or another (the program may not wait for it).
          if (transfer) {
            await s.track(`the start of ${what}() made during reconnect()`, transfer.started).catch(() => {});
          }
          // What a program does next, a little later: a new buffer, as large as the arena allows.
          await s.sleep(5);
          try {
            alloc(s, 2048);
          } catch {
            // The arena may be short; the checks still look at what is free.
          }
        }),
      ),

    fc.constant(c('recover()', (s) => recover(s))),

    fc
      .record({
        delayUs: fc.integer({ min: 0, max: 3000 }),
        during: fc.constantFrom('writeAll', 'readExact', 'ping', 'idle'),
      })
      .map(({ delayUs, during }) =>
        c(`NRST after ${delayUs} µs, during ${during}`, async (s) => {
          const serial = during === 'writeAll' || during === 'readExact' ? await serialOf(s) : undefined;
          let pending: Promise<unknown> = Promise.resolve();
          if (serial) {
            const h = alloc(s, 256);
            const data = tagged(s.newId(), 256);
            if (during === 'writeAll') {
              await s.track('buffer.write()', h.buffer.write(data));
              s.transmission('writeAll() under a reset', data);
            }
            lend(h);
            const t = during === 'writeAll' ? serial.writeAll(h.buffer) : serial.readExact(h.buffer);
            pending = s.track(`${during}() under a reset`, t.wait()).then(
              (d) => {
                s.handedBack(h, d.buffer);
                s.serial = { kind: 'whole', serial: d.serial };
              },
              () => {},
            );
          } else if (during === 'ping') {
            pending = s.track('ping()', s.board.ping(new Uint8Array(32))).catch(() => {});
          }
          await s.sleep(delayUs / 1000);
          s.vb.reset();
          s.boundary('an NRST reset of the board');
          await pending;
        }),
      ),

    fc.constant(
      c('Serial1.take()', async (s) => {
        if (s.serial.kind !== 'none') return;
        s.serial = { kind: 'whole', serial: await serialOf(s) };
      }),
    ),

    fc.constant(
      c('drop the Serial1', async (s) => {
        s.serial = { kind: 'none' };
      }),
    ),

    fc
      .record({ reg: fc.constantFrom('CMAR2', 'CNDTR2', 'TDR'), value: fc.nat(0xffff) })
      .map(({ reg, value }) =>
        c(`raw register write ${reg} = ${value}`, async (s) => {
          const chip = s.board.chip;
          if (reg === 'TDR') {
            // A raw byte in TDR under a running transmission replaces one of its
            // bytes: raw access can break that by design, so only on an idle line.
            if (s.transmitting) return;
            const byte = value & 0xff;
            s.transmission('a raw TDR write', Uint8Array.of(byte));
            await s.track('raw TDR write', s.raw.writeRegister(chip.usart1.tdr.address, byte));
            return;
          }
          const ch = chip.dma.channels[1]!;
          const address = reg === 'CMAR2' ? ch.cmar.address : ch.cndtr.address;
          const v = reg === 'CMAR2' ? (s.board.arena.base + 4 * (value % 1024)) >>> 0 : value;
          await s.track(`raw ${reg} write`, s.raw.writeRegister(address, v));
        }),
      ),

    fc
      .record({
        trick: fc.constantFrom('length', 'address', 'shadow-freed', 'prototype', 'belongs'),
        i: fc.nat(),
        n: fc.integer({ min: 16, max: 256 }),
      })
      .map(({ trick, i, n }) =>
        c(`tampered buffer (${trick}) into readExact`, async (s) => {
          const serial = await serialOf(s);
          s.serial = { kind: 'whole', serial };
          const victim = alloc(s, n);
          const neighbour = alloc(s, n);
          const others = s.owned().filter((h) => h !== victim);
          const other = others[i % others.length] ?? neighbour;
          const b = victim.buffer as DmaBuffer & Record<string, unknown>;
          try {
            tamper(b, trick, other.region.address, n);
          } catch {
            return; // the object refused the change (a frozen buffer)
          }
          if (trick === 'shadow-freed') victim.state = 'gone';
          else lend(victim);
          let transfer: Transfer<Serial1>;
          try {
            transfer = serial.readExact(victim.buffer);
          } catch {
            if (victim.state === 'lent') victim.state = 'owned';
            return; // refused before anything was sent
          }
          s.serial = { kind: 'none' };
          // The check after this step sees where the channel runs while it waits for data.
          await s.track('readExact() start with a tampered buffer', transfer.started).catch(() => {});
          s.check(`readExact() with a tampered buffer (${trick}) started`);
          await s.track('stop()', transfer.stop()).then(
            (d) => {
              if (victim.state === 'lent') s.handedBack(victim, d.buffer);
              s.serial = { kind: 'whole', serial: d.serial };
            },
            () => {},
          );
        }),
      ),

    fc
      .record({
        kind: fc.constantFrom('garbage', 'delay', 'drop', 'bitFlip', 'cut-short'),
        rate: fc.constantFrom(0.01, 0.05, 0.2),
        pings: fc.integer({ min: 1, max: 8 }),
      })
      .map(({ kind, rate, pings }) =>
        c(`a noisy line (${kind} ${rate}) under ${pings} pings and a channel read`, async (s) => {
          const rates =
            kind === 'delay'
              ? { delay: rate, delayMs: 5, delayMaxRun: 8 }
              : kind === 'garbage'
                ? { garbage: rate, garbageMaxLength: 6 }
                : kind === 'cut-short'
                  ? { drop: rate, delay: rate, delayMs: 3 }
                  : { [kind]: rate };
          s.cleanLine(false, rates);
          try {
            // Pings of several sizes: frames cut at many places leave partial frames behind.
            for (let k = 0; k < pings; k++) await s.track('ping()', s.board.ping(new Uint8Array(8 + 24 * k)));
            await s.track('channel read', s.raw.readRegister(s.board.chip.dma.channels[0]!.cndtr.address));
          } finally {
            s.cleanLine(false);
          }
        }),
      ),

    // Up to half a second: a board time of 2^27 ns (134 ms) and more is where
    // a difference of two clock readings first falls below the clock's resolution.
    fc.integer({ min: 0, max: 500 }).map((ms) =>
      c(`let ${ms} ms pass`, async (s) => {
        await s.sleep(ms);
      }),
    ),
  ];
  // In COMMAND_KINDS order.
  return all.filter((_, k) => kinds.includes(COMMAND_KINDS[k]!));
}

/** Changes a genuine buffer the ways a caller holding it can. */
function tamper(
  b: DmaBuffer & Record<string, unknown>,
  trick: string,
  otherAddress: number,
  n: number,
): void {
  const noop = () => {};
  switch (trick) {
    case 'length':
      Object.defineProperty(b, 'length', { value: 4 * n, configurable: true });
      return;
    case 'address':
      Object.defineProperty(b, 'address', { value: otherAddress, configurable: true });
      return;
    case 'shadow-freed':
      b.free();
      Object.defineProperty(b, 'assertOwned', { value: noop, configurable: true });
      Object.defineProperty(b, 'moveInto', { value: noop, configurable: true });
      return;
    case 'prototype': {
      const proto = Object.getPrototypeOf(b) as object;
      const Sub = Object.create(proto, {
        address: { get: () => otherAddress, configurable: true },
      }) as object;
      Object.setPrototypeOf(b, Sub);
      return;
    }
    case 'belongs':
      Object.defineProperty(b, 'assertBelongsTo', { value: noop, configurable: true });
      Object.defineProperty(b, 'length', { value: 2 * n, configurable: true });
      return;
  }
}
