/**
 * The GDB stub's protocol handling on its own, over a recording target:
 * framing, checksums, acknowledgements and retransmission, no-ack mode,
 * stop replies, and malformed input answered with an error (never a throw).
 */
import { describe, expect, it } from 'vitest';
import type { DebugTarget, StopReason, WatchKind } from '../target.ts';
import { checksum, encodePacket, PacketDecoder } from './packet-codec.ts';
import { GdbSession } from './session.ts';

class FakeTarget implements DebugTarget {
  onStop: ((reason: StopReason) => void) | null = null;
  halted = false;
  regs = Array.from({ length: 21 }, (_, i) => i * 0x11);
  memory = new Uint8Array(64).map((_, i) => i);
  calls: string[] = [];
  readRegisters(): number[] {
    return [...this.regs];
  }
  writeRegister(n: number, value: number): boolean {
    if (n >= this.regs.length) return false;
    this.regs[n] = value;
    return true;
  }
  readMemory(address: number, length: number): Uint8Array {
    if (address + length > this.memory.length) throw new RangeError('unmapped');
    return this.memory.slice(address, address + length);
  }
  writeMemory(address: number, bytes: Uint8Array): void {
    if (address + bytes.length > this.memory.length) throw new RangeError('unmapped');
    this.memory.set(bytes, address);
  }
  addBreakpoint(address: number): void {
    this.calls.push(`break ${address.toString(16)}`);
  }
  removeBreakpoint(address: number): void {
    this.calls.push(`unbreak ${address.toString(16)}`);
  }
  addWatchpoint(kind: WatchKind, address: number, length: number): void {
    this.calls.push(`watch ${kind} ${address.toString(16)} ${length}`);
  }
  removeWatchpoint(kind: WatchKind, address: number, length: number): void {
    this.calls.push(`unwatch ${kind} ${address.toString(16)} ${length}`);
  }
  halt(): void {
    if (this.halted) return;
    this.halted = true;
    this.onStop?.({ kind: 'interrupt' });
  }
  resume(): void {
    this.halted = false;
    this.calls.push('resume');
  }
  step(): StopReason {
    this.regs[15]! += 2;
    return { kind: 'step' };
  }
  reset(): void {
    this.calls.push('reset');
  }
  detach(): void {
    this.calls.push('detach');
    this.halted = false;
  }
}

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function open(options = {}) {
  const target = new FakeTarget();
  const out: string[] = [];
  const session = new GdbSession(target, (t) => out.push(t), options);
  /** Sends a well-formed packet; returns what came back (ack and reply). */
  const ask = (payload: string): string[] => {
    out.length = 0;
    session.receive(bytes(encodePacket(payload)));
    return [...out];
  };
  return { target, out, session, ask };
}

const reply = (payload: string) => encodePacket(payload);

describe('packet framing', () => {
  it('sums bytes modulo 256 and escapes $ # } * in replies', () => {
    expect(checksum('OK')).toBe(0x9a);
    expect(encodePacket('OK')).toBe('$OK#9a');
    expect(encodePacket('a$b#c}d*')).toBe(
      `$a}\x04b}\x03c}]d}\x0a#${checksum('a}\x04b}\x03c}]d}\x0a').toString(16)}`,
    );
  });

  it('splits a stream into packets, acks and Ctrl-C, across chunk boundaries, unescaping', () => {
    const d = new PacketDecoder();
    const wire = `+$m0,4#${checksum('m0,4').toString(16)}\x03-$X0,1:}]#${checksum('X0,1:}]').toString(16)}`;
    const events = [...wire].flatMap((c) => d.push(bytes(c)));
    expect(events).toEqual([
      { kind: 'ack' },
      { kind: 'packet', payload: 'm0,4' },
      { kind: 'interrupt' },
      { kind: 'nak' },
      { kind: 'packet', payload: 'X0,1:}' },
    ]);
  });

  it('reports a wrong or unreadable checksum, and a packet cut short by a new one', () => {
    const d = new PacketDecoder();
    expect(d.push(bytes('$OK#00$OK#zz$abc$OK#9a'))).toEqual([
      { kind: 'bad-checksum', payload: 'OK' },
      { kind: 'bad-checksum', payload: 'OK' },
      { kind: 'packet', payload: 'OK' },
    ]);
  });
});

describe('a GDB session', () => {
  it('halts the target on attach (unless asked not to) and answers ? with why it stopped', () => {
    const { target, ask } = open();
    expect(target.halted).toBe(true);
    expect(ask('?')).toEqual(['+', reply(`T02${'0f:ff000000;0d:dd000000;'}`)]);
    expect(open({ attachRunning: true }).target.halted).toBe(false);
  });

  it('acks each packet, naks a damaged one, and resends its last reply on a nak', () => {
    const { session, out, ask } = open();
    expect(ask('m0,4')).toEqual(['+', reply('00010203')]);
    out.length = 0;
    session.receive(bytes('-'));
    expect(out).toEqual([reply('00010203')]);
    out.length = 0;
    session.receive(bytes('$m0,4#00'));
    expect(out).toEqual(['-']);
  });

  it('stops acking after QStartNoAckMode (its own reply still acked) and ignores naks then', () => {
    const { session, out, ask } = open();
    expect(ask('QStartNoAckMode')).toEqual(['+', reply('OK')]);
    expect(ask('m4,2')).toEqual([reply('0405')]);
    out.length = 0;
    session.receive(bytes('-$m0,1#00'));
    expect(out).toEqual([]); // no resend, no nak
  });

  it('offers its features and serves the ARMv6-M target description in pieces', () => {
    const { ask } = open();
    const [, supported] = ask('qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386');
    expect(supported).toContain('qXfer:features:read+');
    expect(supported).toContain('QStartNoAckMode+');
    expect(supported).toContain('hwbreak+');
    let xml = '';
    for (let offset = 0; ; offset += 0x100) {
      const [, r] = ask(`qXfer:features:read:target.xml:${offset.toString(16)},100`);
      const body = r!.slice(1, r!.lastIndexOf('#'));
      xml += body.slice(1);
      if (body[0] === 'l') break;
      expect(body[0]).toBe('m');
    }
    expect(xml).toContain('org.gnu.gdb.arm.m-profile');
    for (const r of ['r0', 'r12', 'sp', 'lr', 'pc', 'xpsr', 'msp', 'psp', 'primask', 'control'])
      expect(xml).toContain(`name="${r}"`);
  });

  it('reads and writes registers and memory, little-endian', () => {
    const { target, ask } = open();
    expect(ask('pf')[1]).toBe(reply('ff000000'));
    expect(ask('P0=78563412')[1]).toBe(reply('OK'));
    expect(target.regs[0]).toBe(0x12345678);
    expect(ask('g')[1]).toBe(
      reply(
        target.regs.map((v) => v.toString(16).padStart(8, '0').match(/../g)!.reverse().join('')).join(''),
      ),
    );
    expect(ask('M8,2:beef')[1]).toBe(reply('OK'));
    expect([...target.memory.subarray(8, 10)]).toEqual([0xbe, 0xef]);
    expect(ask('X10,2:\x7d\x00')[1]).toBe(reply('OK'));
    expect([...target.memory.subarray(0x10, 0x12)]).toEqual([0x7d, 0x00]);
    expect(ask('m100,4')[1]).toBe(reply('E02')); // nothing there
  });

  it('sets and clears breakpoints and the three kinds of watchpoint', () => {
    const { target, ask } = open();
    for (const p of [
      'Z0,8000100,2',
      'Z1,8000200,2',
      'Z2,20000000,4',
      'Z3,20000004,1',
      'Z4,40004424,4',
      'z2,20000000,4',
      'z0,8000100,2',
    ])
      expect(ask(p)[1]).toBe(reply('OK'));
    expect(target.calls).toEqual([
      'break 8000100',
      'break 8000200',
      'watch write 20000000 4',
      'watch read 20000004 1',
      'watch access 40004424 4',
      'unwatch write 20000000 4',
      'unbreak 8000100',
    ]);
  });

  it('steps at once, and answers continue only when the target stops (Ctrl-C or a hit)', () => {
    const { target, session, out, ask } = open();
    expect(ask('vCont?')[1]).toBe(reply('vCont;c;C;s;S;t'));
    expect(ask('vCont;s:1')[1]).toMatch(/^\$T050f:01010000;/);
    expect(ask('s')[1]).toMatch(/^\$T050f:03010000;/);
    expect(ask('vCont;c')).toEqual(['+']);
    expect(target.halted).toBe(false);
    out.length = 0;
    session.receive(Uint8Array.of(3));
    expect(out).toEqual([reply('T020f:03010000;0d:dd000000;')]);
    ask('c');
    out.length = 0;
    target.halted = true;
    target.onStop?.({ kind: 'watch', watch: 'write', address: 0x20000314 });
    expect(out).toEqual([reply('T050f:03010000;0d:dd000000;watch:20000314;')]);
  });

  it('runs monitor reset and reset halt, and says so for an unknown monitor command', () => {
    const { target, ask } = open();
    const hex = (s: string) => Buffer.from(s).toString('hex');
    const r = ask(`qRcmd,${hex('reset halt')}`);
    expect(r.at(-1)).toBe(reply('OK'));
    expect(r[1]).toMatch(/^\$O/);
    ask(`qRcmd,${hex('reset')}`);
    expect(target.calls.filter((c) => c === 'reset').length).toBe(2);
    expect(ask(`qRcmd,${hex('frobnicate')}`).at(-1)).toBe(reply('E02'));
  });

  it('answers malformed packets with an error and unknown ones with the empty reply', () => {
    const { ask } = open();
    for (const bad of [
      'm',
      'mzz,4',
      'm0',
      'm0,4,5',
      'M0,2:zz',
      'M0,4:00',
      'Pq=1',
      'P0=',
      'Z2,100',
      'Z9,0,4',
      'G00',
      'c0x1',
      'vCont;q',
      'qXfer:features:read:other.xml:0,10',
      'qRcmd,zz',
    ])
      expect(ask(bad)[1], bad).toBe(reply('E01'));
    expect(ask('vMustReplyEmpty')[1]).toBe(reply(''));
    expect(ask('!')[1]).toBe(reply(''));
  });

  it('never throws on random bytes (seeded; the seed is printed)', () => {
    const seed = (Date.now() & 0xffff) >>> 0;
    console.log(`gdb session fuzz seed ${seed}`);
    let x = seed || 1;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % 256;
    };
    const { session } = open();
    const alphabet = bytes('$#}+-*mMgGpPzZXqQvc?,:;0123456789abcdef\x03');
    for (let round = 0; round < 2000; round++) {
      const chunk = Uint8Array.from({ length: 1 + (next() % 24) }, () =>
        next() < 200 ? alphabet[next() % alphabet.length]! : next(),
      );
      // A valid frame around random content now and then, so commands run too.
      const payload = String.fromCharCode(...chunk).replace(/[$#}]/g, '');
      expect(() => session.receive(round % 3 === 0 ? bytes(encodePacket(payload)) : chunk)).not.toThrow();
    }
  });

  it('detaches on D and on close, leaving the target running', () => {
    const { target, ask } = open();
    expect(ask('D')[1]).toBe(reply('OK'));
    expect(target.calls).toContain('detach');
    expect(ask('g')[1]).toBe(reply('E03'));
    const other = open();
    other.session.close();
    expect(other.target.calls).toEqual(['detach']);
  });
});
