/**
 * The data commands (write, read, monitor, bench) run in this process
 * through runCli, against the in-process virtual board and against a
 * virtual board served on a pseudo-terminal and opened with --port like a
 * real port, with USART1's peer driven from this test. (cli.test.ts runs
 * the command as a child process: exit statuses, Ctrl-C.)
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import { runCaptured } from '../test-support/capture-io.ts';
import { DEFAULT_FIRMWARE, loadVirtualBoard } from '../virtual/load-board.ts';
import { VirtualServer } from '../virtual-server.ts';

const haveFirmware = existsSync(DEFAULT_FIRMWARE);
const run = (...args: string[]) => runCaptured(args);
const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);
const VIRTUAL_NOTE = /^dma-bridge: no --port given: using an in-process virtual Nucleo-G071RB/;

describe.skipIf(!haveFirmware)('write, read, monitor, bench on the in-process virtual board', () => {
  it('write TEXT: one writeAll, and what the virtual peer received', async () => {
    const { code, stdout, stderr } = await run('write', 'Hello, world!');
    expect(code).toBe(0);
    expect(stderr).toMatch(VIRTUAL_NOTE);
    expect(stdout).toMatch(/^wrote 13 bytes to USART1 at 115200 baud in one DMA transfer \(writeAll\): /m);
    expect(stdout).toMatch(
      /^the virtual peer received 13 bytes, t = [\d.]+ ms \.\. [\d.]+ ms virtual: "Hello, world!"$/m,
    );
  });

  it('write --hex --baud --json: machine-readable, the peer got the bytes', async () => {
    const { code, stdout } = await run('write', '--hex', '48 65 6c 6c 6f', '--baud', '9600', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      bytes: 5,
      baudRate: 9600,
      method: 'writeAll',
      transfers: 1,
      peer: { received: 5, hex: '48656c6c6f' },
    });
  });

  it('write --file: streams in chunks with progress lines on a non-terminal stderr', async () => {
    const path = join(tmpdir(), `dma-bridge-write-${process.pid}.bin`);
    const data = Buffer.from(Array.from({ length: 6000 }, (_, i) => (i * 7) & 0xff));
    await writeFile(path, data);
    const { code, stdout, stderr } = await run(
      'write',
      '--file',
      path,
      '--chunk-size',
      '2048',
      '--json',
    ).finally(() => rm(path, { force: true }));
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({
      bytes: 6000,
      method: 'streamWriter',
      transfers: 3,
      peer: { received: 6000 },
    });
    expect(result.peer.hex).toBe(data.toString('hex'));
    expect(lines(stderr).filter((l) => l.startsWith('dma-bridge: write: '))).toEqual([
      'dma-bridge: write: 30% (2048 of 6000 bytes)',
      'dma-bridge: write: 60% (4096 of 6000 bytes)',
      'dma-bridge: write: 100% (6000 of 6000 bytes)',
    ]);
  });

  it('write --loopback: the bytes come back through RX, compared', async () => {
    const { code, stdout, stderr } = await run('write', '--loopback', 'round trip');
    expect(code).toBe(0);
    expect(stderr).toMatch(/USART1 TX wired to RX/);
    expect(stdout).toMatch(/^read back 10 bytes through RX \(loopback\): identical$/m);
  });

  it('read N --inject: a hex dump of what the peer sent once reception started', async () => {
    const { code, stdout, stderr } = await run('read', '16', '--inject', '0123456789abcdef');
    expect(code).toBe(0);
    expect(stdout).toBe('00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n');
    expect(stderr).toMatch(/receiving 16 bytes on USART1 at 115200 baud/);
  });

  it('read --idle --json: as much as came before the line went idle', async () => {
    const { code, stdout } = await run('read', '--idle', '--max', '64', '--inject', 'ping?', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      requested: 64,
      received: 5,
      mode: 'idle',
      timedOut: false,
      text: 'ping?',
    });
  });

  it('read with --loopback --inject --raw: the board sends to itself, raw bytes on stdout', async () => {
    const { code, stdout } = await run('read', '6', '--loopback', '--inject', 'echo!!', '--raw');
    expect(code).toBe(0);
    expect(stdout).toBe('echo!!');
  });

  it('read that times out: what arrived, then one line and exit 1', async () => {
    const { code, stdout, stderr } = await run('read', '8', '--inject', 'abc', '--timeout', '300ms');
    expect(code).toBe(1);
    expect(stdout).toMatch(/\|abc\|/);
    expect(lines(stderr).at(-1)).toBe(
      'dma-bridge: received 3 of 8 bytes within 300 ms: is anything sending to USART1 RX (PC5, D0) at 115200 baud?',
    );
  });

  it('monitor --count: raw halves on stdout', async () => {
    const { code, stdout, stderr } = await run(
      'monitor',
      '--buffer',
      '16',
      '--count',
      '2',
      '--inject',
      'abcdefghijklmnop',
    );
    expect(code).toBe(0);
    expect(stdout).toBe('abcdefghijklmnop');
    expect(lines(stderr).at(-1)).toBe('dma-bridge: received 2 halves (16 bytes)');
  });

  it('monitor --hex --loopback: a running hex dump across halves', async () => {
    const text = 'The quick brown fox jumps over the lazy dog!!!!!';
    const { code, stdout } = await run(
      'monitor',
      '--buffer',
      '64',
      '--count',
      '1',
      '--hex',
      '--loopback',
      '--inject',
      text,
    );
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      '00000000  54 68 65 20 71 75 69 63  6B 20 62 72 6F 77 6E 20  |The quick brown |',
      '00000010  66 6F 78 20 6A 75 6D 70  73 20 6F 76 65 72 20 74  |fox jumps over t|',
    ]);
  });

  it('monitor --duration: what came after the last whole half is not lost', async () => {
    const { code, stdout, stderr } = await run('monitor', '--inject', 'hello', '--duration', '300ms');
    expect(code).toBe(0);
    expect(stdout).toBe('hello');
    expect(lines(stderr).at(-1)).toBe('dma-bridge: received 0 halves and 5 bytes of the next (5 bytes)');
  });

  it('monitor --json --duration: one object per half, ends on time', async () => {
    const { code, stdout } = await run(
      'monitor',
      '--buffer',
      '8',
      '--duration',
      '400ms',
      '--json',
      '--inject',
      'abcd',
    );
    expect(code).toBe(0);
    expect(lines(stdout).map((l) => JSON.parse(l))).toEqual([
      { offset: 0, length: 4, hex: '61626364', text: 'abcd' },
    ]);
  });

  it('selftest: every check passes on the virtual board, through its peer or wired in loopback', async () => {
    for (const extra of [[], ['--loopback']]) {
      const { code, stdout } = await run('selftest', '--json', ...extra);
      expect(code).toBe(0);
      const report = JSON.parse(stdout);
      expect(report).toMatchObject({
        virtual: true,
        failed: 0,
        warnings: 0,
        skipped: 0,
        linkBaud: 2_000_000,
      });
      expect(report.checks.map((c: { name: string }) => c.name)).toEqual([
        'HELLO',
        'host link',
        'allow-list',
        'arena',
        'DMA write',
        'DMA read',
        'circular',
        'board health',
        'link counters',
      ]);
    }
    const text = await run('selftest');
    expect(text.stdout).toMatch(
      /^ {2}pass {2}DMA read: 64 bytes from the virtual peer on USART1 into the arena/m,
    );
    expect(text.stdout).toMatch(/^result: 9 passed, 0 failed, 0 warnings, 0 skipped$/m);
  });

  it('bench --json: rates in wall and virtual time', async () => {
    const { code, stdout } = await run(
      'bench',
      '--round-trips',
      '20',
      '--reads',
      '50',
      '--batches',
      '2',
      '--json',
    );
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.linkBaud).toBe(2_000_000);
    for (const key of ['roundTrips', 'pipelinedReads', 'batchedReads']) {
      expect(result[key].wallPerSecond).toBeGreaterThan(0);
      expect(result[key].virtualPerSecond).toBeGreaterThan(0);
    }
    // An empty PING and its reply are at least 22 bytes on the wire, 110 µs
    // at 2 Mbaud: the line allows fewer than 9100 round trips a second.
    expect(result.roundTrips.virtualPerSecond).toBeLessThan(9100);
  });
});

describe('write, read, monitor usage errors', () => {
  it.each([
    [
      ['write'],
      /^dma-bridge: give what to write: a TEXT argument, --hex BYTES or --file PATH \(exactly one\)$/,
    ],
    [['write', 'x', '--hex', '41'], /exactly one/],
    [
      ['write', '--hex', '4g'],
      /^dma-bridge: --hex: "g" is not a hex digit; write bytes as pairs of hex digits/,
    ],
    [
      ['write', 'x', '--baud', '50'],
      /^dma-bridge: --baud: expected a USART1 baud rate from 1000 to 4000000$/,
    ],
    [['read'], /^dma-bridge: say how much to read: a byte count N, or --idle/],
    [['read', '0', '--inject', 'x'], /^dma-bridge: argument 1: expected a byte count from 1 to 16384$/],
    [
      ['read', '4', '--timeout', 'soon'],
      /^dma-bridge: --timeout: expected a duration such as 500ms, 2s or 1\.5/,
    ],
    [
      ['read', '4', '--port', '/dev/ttyACM0', '--inject', 'x'],
      /^dma-bridge: --inject: on a board given by --port nobody sends/,
    ],
    [
      ['read', '16'],
      /^dma-bridge: nothing sends to the in-process virtual board unless asked: add --inject TEXT/,
    ],
    // A negative number is a value (or an argument) the schema refuses, not a missing value or an option.
    [
      ['write', 'x', '--baud', '-5'],
      /^dma-bridge: --baud: expected a USART1 baud rate from 1000 to 4000000$/,
    ],
    [['read', '-5', '--inject', 'x'], /^dma-bridge: argument 1: expected a byte count from 1 to 16384$/],
    [['info', '--port', 'tcp://127.0.0.1:99999'], /^dma-bridge: --port: .*port 99999 is outside 1\.\.65535/],
    [['monitor', '--buffer', '15'], /^dma-bridge: --buffer: expected an even buffer size in bytes/],
    [['monitor', '--hex', '--json'], /^dma-bridge: --hex: --hex and --json are two output formats/],
  ])('%j: exit 2, one line', async (args, message) => {
    const { code, stdout, stderr } = await run(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr.trim()).toMatch(message);
  });
});

describe.skipIf(!haveFirmware)('every command against a virtual board on a pty (--port)', () => {
  let vb: VirtualBoard;
  let server: VirtualServer;
  let link: string;
  let sessions = 0;

  beforeAll(async () => {
    // Served to another program, whose deadlines are in wall time: paced as a real board.
    vb = await loadVirtualBoard({ pace: 'realtime' });
    link = join(tmpdir(), `dma-bridge-pty-${process.pid}`);
    server = await VirtualServer.start(vb, { pty: true, ptyLink: link, log: () => {} });
  });
  afterAll(async () => {
    await server?.close();
    await vb?.dispose();
  });

  /** socat serves one session per pty; wait until the next one is there. */
  async function nextSession(): Promise<string> {
    const deadline = Date.now() + 5000;
    while (server.ptyGeneration <= sessions) {
      if (Date.now() > deadline) throw new Error('the pty did not come back');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    sessions = server.ptyGeneration;
    return link;
  }

  it('says who holds a board served over TCP instead of "no bridge answers"', async () => {
    const holder = connect({ host: '127.0.0.1', port: Number(server.addresses.tcp.split(':').at(-1)) });
    holder.on('error', () => {});
    await new Promise((resolve) => holder.once('connect', resolve));
    try {
      // The holder counts from its connection on: give the server a moment to take it.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const busy = await run('info', '--port', server.addresses.tcp);
      expect(busy.code).toBe(1);
      expect(busy.stderr.trim()).toMatch(
        /^dma-bridge: tcp:\/\/127\.0\.0\.1:\d+: board in use by 127\.0\.0\.1:\d+ since /,
      );
    } finally {
      holder.destroy();
    }
  });

  it('info and regs', async () => {
    const info = await run('info', '--json', '--port', await nextSession());
    expect(info.stderr).toBe('');
    expect(JSON.parse(info.stdout)).toMatchObject({ board: link, virtual: false, devId: 0x460 });
    const regs = await run('regs', '--port', await nextSession());
    expect(regs.code).toBe(0);
    expect(regs.stdout).toMatch(/^ {4}TXE +1 +transmit data register empty$/m);
  });

  it('selftest through the pty: the DMA checks need a jumper, and pass with one', async () => {
    const without = await run('selftest', '--port', await nextSession());
    expect(without.code).toBe(0);
    expect(without.stdout).toMatch(
      /^ {2}skip {2}DMA write: nothing on USART1 to talk to: wire PC4 \(D1\) to PC5 \(D0\) and add --loopback/m,
    );
    expect(without.stdout).toMatch(/^result: 6 passed, 0 failed, 0 warnings, 3 skipped$/m);
    vb.setUsart1Wiring('loopback');
    try {
      const jumpered = await run('selftest', '--json', '--loopback', '--port', await nextSession());
      expect(jumpered.code).toBe(0);
      expect(JSON.parse(jumpered.stdout)).toMatchObject({ virtual: false, failed: 0, skipped: 0 });
    } finally {
      vb.setUsart1Wiring('peer');
    }
  });

  it('write: the bytes reach the peer at the far end of USART1', async () => {
    vb.peer.clear();
    const { code, stdout, stderr } = await run('write', 'Hello over a pty', '--port', await nextSession());
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^wrote 16 bytes to USART1 at 115200 baud in one DMA transfer \(writeAll\): [\d.]+ m?s$/m,
    );
    expect(new TextDecoder().decode(Uint8Array.from(vb.peer.received(), (r) => r.byte))).toBe(
      'Hello over a pty',
    );
  });

  it('write --file: the streaming writer through the pty', async () => {
    vb.peer.clear();
    const path = join(tmpdir(), `dma-bridge-pty-write-${process.pid}.bin`);
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) & 0xff));
    await writeFile(path, data);
    const { code, stdout } = await run(
      'write',
      '--file',
      path,
      '--json',
      '--port',
      await nextSession(),
    ).finally(() => rm(path, { force: true }));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      bytes: 5000,
      method: 'streamWriter',
      transfers: 2,
      peer: null,
    });
    expect(Buffer.from(vb.peer.received().map((r) => r.byte))).toEqual(data);
  });

  it('read: the peer sends once the CLI says reception has started', async () => {
    const { code, stdout } = await runCaptured(['read', '12', '--json', '--port', await nextSession()], {
      onNote: (line) => {
        if (line.startsWith('receiving 12 bytes')) vb.peer.inject(new TextEncoder().encode('from the far'));
      },
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ received: 12, text: 'from the far', timedOut: false });
  });

  it('monitor: halves until --count, the board wired in loopback with --loopback --inject', async () => {
    vb.setUsart1Wiring('loopback');
    try {
      const { code, stdout } = await run(
        'monitor',
        '--buffer',
        '64',
        '--count',
        '1',
        '--loopback',
        '--inject',
        'a jumper from PC4 to PC5 (D1-D0)',
        '--port',
        await nextSession(),
      );
      expect(code).toBe(0);
      expect(stdout).toBe('a jumper from PC4 to PC5 (D1-D0)');
    } finally {
      vb.setUsart1Wiring('peer');
    }
  });

  it('bench', async () => {
    const { code, stdout } = await run(
      'bench',
      '--round-trips',
      '20',
      '--reads',
      '40',
      '--batches',
      '2',
      '--port',
      await nextSession(),
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^round trips +\d+\/s wall$/m);
    expect(stdout).toMatch(/^register reads, 64 per batch +\d+\/s wall$/m);
  });
});
