/**
 * The CLI as users run it: a child process, its stdout, stderr and exit
 * status, against the in-process virtual board (the real firmware on the
 * emulator) or a `dma-bridge virtual` server. Checks of a command's own
 * output run it in this process through runCli (`inProcess`): the same
 * code from the command line on, without the cost of a process each. The
 * processes check what only a process shows: each exit status reaching
 * the shell, stdout and stderr kept apart, Ctrl-C and SIGTERM.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FIRMWARE_DIR } from '../package/package-root.ts';
import { runCaptured } from '../test-support/capture-io.ts';
import { DEFAULT_FIRMWARE } from '../virtual/load-board.ts';

const BIN = fileURLToPath(new URL('../bin/dma-bridge.js', import.meta.url));
const haveFirmware = existsSync(DEFAULT_FIRMWARE);
/** What the firmware build says it is (versions read from protocol.h when it was built). */
const manifest = haveFirmware
  ? (JSON.parse(readFileSync(join(FIRMWARE_DIR, 'manifest.json'), 'utf8')) as {
      firmwareVersion: string;
      protocolVersion: number;
    })
  : { firmwareVersion: '', protocolVersion: 0 };

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

/** The same command through runCli in this process: the command's own behaviour, without a process start. */
function inProcess(...args: string[]): Promise<Run> {
  return runCaptured(args);
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no address');
  return address.port;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('dma-bridge usage', () => {
  it('prints the usage with --help and exits 0', async () => {
    const { code, stdout, stderr } = await inProcess('--help');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^usage: dma-bridge <command> \[options\]/);
    for (const command of ['list', 'info', 'regs', 'write', 'read', 'monitor', 'bench', 'virtual'])
      expect(stdout).toMatch(new RegExp(`\\n  ${command} `));
  });

  it('with no command: the usage on stderr, exit 2', async () => {
    const { code, stdout, stderr } = await inProcess();
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^dma-bridge: usage: dma-bridge <command> \[options\]/);
  });

  it('virtual --help describes every option it lists', async () => {
    const { stdout } = await inProcess('virtual', '--help');
    for (const option of [
      '--tcp-port',
      '--pty-link',
      '--no-pty',
      '--peer-tcp',
      '--loopback',
      '--idle-timeout',
      '--firmware',
      '--json',
    ])
      expect(stdout).toMatch(new RegExp(`^  ${option} +\\S`, 'm'));
  });

  it('prints a command usage with <command> --help', async () => {
    const { code, stdout } = await inProcess('regs', '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: dma-bridge regs \[--channel 1\|2\]/);
  });

  it('a usage error from the process: exit 2, one line on stderr, nothing on stdout', async () => {
    const { code, stdout, stderr } = await run('info', '--bogus');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('dma-bridge: unknown option --bogus for "info"; see dma-bridge info --help\n');
  });

  // The same path in process (runCli), for every kind of usage error: quicker than a process each.
  it.each([
    [
      ['virtual', '--tcp-port', '70000'],
      /^dma-bridge: --tcp-port: expected a TCP port number from 0 to 65535$/,
    ],
    [['regs', '--channel', '3'], /^dma-bridge: --channel: expected 1 or 2$/],
    [['info', '--port'], /^dma-bridge: -p, --port <value> needs a value/],
    [['list', 'extra'], /^dma-bridge: "list" takes no arguments, got extra/],
    [
      ['frobnicate'],
      /^dma-bridge: unknown command "frobnicate"; the commands are list, info, regs, write, read, monitor, bench, selftest, virtual, flash$/,
    ],
    [
      ['virtual', '--loopback', '--peer-tcp', '4001'],
      /^dma-bridge: --peer-tcp: with --loopback USART1 has no peer/,
    ],
  ])('%j is a usage error: exit 2, one line on stderr, nothing on stdout', async (args, message) => {
    const { code, stdout, stderr } = await runCaptured(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr.trim()).toMatch(message);
  });
});

describe('dma-bridge runtime errors', () => {
  it('explains a TCP board that is not there: exit 1, one line', async () => {
    const port = await closedPort();
    const { code, stdout, stderr } = await inProcess('info', '--port', `tcp://127.0.0.1:${port}`);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(lines(stderr)).toEqual([
      `dma-bridge: cannot connect to tcp://127.0.0.1:${port}: ECONNREFUSED; nothing listens there: is ser2net (or "dma-bridge virtual") running on that host and port?`,
    ]);
  });

  it('explains a serial port that does not exist', async () => {
    const { code, stderr } = await inProcess('info', '--port', '/dev/ttyDOES-NOT-EXIST');
    expect(code).toBe(1);
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toMatch(
      /^dma-bridge: cannot open serial port \/dev\/ttyDOES-NOT-EXIST: .*dma-bridge list/,
    );
  });

  it('explains a firmware file that is not there', async () => {
    const { code, stderr } = await inProcess('info', '--firmware', '/nonexistent/bridge.elf');
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^dma-bridge: cannot read the firmware \/nonexistent\/bridge\.elf/);
  });
});

describe('dma-bridge list', () => {
  it('gives a JSON array with --json', async () => {
    const { code, stdout } = await inProcess('list', '--json');
    expect(code).toBe(0);
    const ports = JSON.parse(stdout) as unknown[];
    expect(Array.isArray(ports)).toBe(true);
  });
});

describe.skipIf(!haveFirmware)('dma-bridge on the in-process virtual board', () => {
  it('info: decodes HELLO and says on stderr that the board is virtual', async () => {
    const { code, stdout, stderr } = await inProcess('info');
    expect(code).toBe(0);
    expect(stderr).toMatch(/^dma-bridge: no --port given: using an in-process virtual Nucleo-G071RB/);
    expect(stdout).toMatch(/^board +in-process virtual board$/m);
    expect(stdout).toMatch(/^device +STM32G071 \(dev 0x460, rev 0x[0-9a-f]{4}\)$/m);
    expect(stdout).toMatch(/^limits +request 1024 B, reply 264 B, window 4$/m);
  });

  it('negotiates the host link rate: the highest by default, the one --link-baud names, or refuses it', async () => {
    const atMax = await inProcess('info');
    expect(atMax.code).toBe(0);
    expect(atMax.stdout).toMatch(/^link baud +2000000 \(boot 115200; offers 115200, .*, 2000000\)$/m);
    const exact = await inProcess('info', '--link-baud', '921600');
    expect(exact.code).toBe(0);
    expect(exact.stdout).toMatch(/^link baud +921600 /m);
    const boot = await inProcess('info', '--link-baud', 'boot');
    expect(boot.stdout).toMatch(/^link baud +115200 /m);
    const refused = await inProcess('info', '--link-baud', '3000000');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /--link-baud 3000000: the host link cannot run at 3000000 baud: the board offers 115200, /,
    );
    const nonsense = await inProcess('info', '--link-baud', 'fast');
    expect(nonsense.code).toBe(2);
    expect(nonsense.stderr).toMatch(/expected max, boot or a baud rate/);
  });

  it('--firmware with --port is refused, not ignored', async () => {
    const { code, stdout, stderr } = await inProcess(
      'info',
      '--port',
      'tcp://127.0.0.1:1',
      '--firmware',
      'x.elf',
    );
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^dma-bridge: --firmware is for the in-process virtual board; the board on tcp:/);
  });

  it('--firmware: an ELF or a raw flash image runs; anything else is refused, saying what it is', async () => {
    const bin = await inProcess('info', '--json', '--firmware', DEFAULT_FIRMWARE.replace(/\.elf$/, '.bin'));
    expect(bin.code).toBe(0);
    expect(JSON.parse(bin.stdout)).toMatchObject({ firmwareVersion: manifest.firmwareVersion });

    const hex = await inProcess('info', '--firmware', DEFAULT_FIRMWARE.replace(/\.elf$/, '.hex'));
    expect(hex.code).toBe(1);
    expect(hex.stderr).toMatch(/bridge\.hex is an Intel HEX file: the virtual board runs an ELF executable/);

    // This machine's node: an ELF, but not the 32-bit ARM executable the loader wants.
    const x86 = await inProcess('info', '--firmware', process.execPath);
    expect(x86.code).toBe(1);
    expect(x86.stderr).toMatch(
      /node is not a 32-bit ELF file \(EI_CLASS 2\): the virtual board runs an ELF executable/,
    );

    const text = await inProcess('info', '--firmware', fileURLToPath(import.meta.url));
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(
      /cli\.test\.ts is neither an ELF file nor a raw flash image for the STM32G071/,
    );
  });

  it('info --json: one JSON object on stdout', async () => {
    const { code, stdout } = await inProcess('info', '--json');
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info).toMatchObject({
      virtual: true,
      protocolVersion: manifest.protocolVersion,
      firmwareVersion: manifest.firmwareVersion,
      devId: 0x460,
      maxRequestPayload: 1024,
    });
    expect(info.uid).toMatch(/^[0-9a-f]{24}$/);
  });

  it('regs: USART1 after reset shows TXE and TC, decoded', async () => {
    const { code, stdout } = await inProcess('regs');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^DMA1 channel 1$/m);
    expect(stdout).toMatch(/^ {2}DMA1_CCR1 +0x00000000$/m);
    expect(stdout).toMatch(/^ {2}DMAMUX_C0CR +0x00000000$/m);
    expect(stdout).toMatch(/^ {4}TXE +1 +transmit data register empty$/m);
  });

  it('regs --json --channel 2 --all: every field by name', async () => {
    const { code, stdout } = await inProcess('regs', '--json', '--channel', '2', '--all');
    expect(code).toBe(0);
    const { registers } = JSON.parse(stdout) as {
      registers: { name: string; fields: Record<string, number> }[];
    };
    const names = registers.map((r) => r.name);
    expect(names).toEqual([
      'DMA1_ISR',
      'DMA1_CCR2',
      'DMA1_CNDTR2',
      'DMA1_CPAR2',
      'DMA1_CMAR2',
      'DMAMUX_C1CR',
      'USART1_CR1',
      'USART1_CR2',
      'USART1_CR3',
      'USART1_BRR',
      'USART1_ISR',
      'USART1_PRESC',
    ]);
    expect(Object.keys(registers[0]?.fields ?? {})).toEqual(['GIF2', 'TCIF2', 'HTIF2', 'TEIF2']);
    expect(registers.find((r) => r.name === 'DMA1_CCR2')?.fields).toMatchObject({ EN: 0, MSIZE: 0, PL: 0 });
  });
});

describe.skipIf(!haveFirmware)('dma-bridge data commands as a process', () => {
  it('write: the peer line on stdout, the virtual board said on stderr', async () => {
    const { code, stdout, stderr } = await run('write', 'Hello, world!');
    expect(code).toBe(0);
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toMatch(/^dma-bridge: no --port given: using an in-process virtual Nucleo-G071RB/);
    expect(stdout).toMatch(/^the virtual peer received 13 bytes, .*: "Hello, world!"$/m);
  });
});

/**
 * Starts the CLI, waits until stderr matches `ready`, sends SIGINT; resolves
 * with what it printed and its exit code. With `endlessStdin`, its stdin is
 * a pipe fed as fast as the CLI reads it, until it exits.
 */
async function interrupt(args: string[], ready: RegExp, endlessStdin = false, afterMs = 0): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: [endlessStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  if (endlessStdin && child.stdin) {
    const stdin = child.stdin;
    const piece = Buffer.alloc(64 * 1024, 0x55);
    stdin.on('error', () => {}); // EPIPE once the CLI has exited
    const feed = (): void => {
      while (!stdin.destroyed && stdin.write(piece)) {}
    };
    stdin.on('drain', feed);
    feed();
  }
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  await new Promise<void>((resolve, reject) => {
    const giveUp = setTimeout(() => reject(new Error(`no ${ready} within 15 s: ${stderr}`)), 15_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (ready.test(stderr)) {
        clearTimeout(giveUp);
        resolve();
      }
    });
    child.once('close', () => reject(new Error(`exited before ${ready}: ${stderr}`)));
  });
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill('SIGINT');
  const code = await exited;
  return { code, stdout, stderr };
}

describe.skipIf(!haveFirmware)(
  'Ctrl-C stops the DMA on the board, says what went through and exits 130',
  () => {
    // The other commands' Ctrl-C, checked against a board outside the CLI's process: interrupt.test.ts.
    for (const [source, file, endlessStdin] of [['--file - (an endless stdin)', '-', true]] as const) {
      it(`write ${source}: streams until interrupted, reading no faster than it sends`, async () => {
        const { code, stderr } = await interrupt(
          ['write', '--file', file, '--baud', '2000000', '--chunk-size', '4096'],
          // Not a byte count: on a busy machine the first 256 KiB can take many seconds.
          /no --port given/,
          endlessStdin,
          2000,
        );
        expect(code).toBe(130);
        const last = lines(stderr).at(-1) ?? '';
        const m =
          /^dma-bridge: interrupted: the board stopped the DMA after (\d+) of (\d+) read bytes had gone out \(DMA1 channels 1 and 2 read back off\)$/.exec(
            last,
          );
        expect(m, last).not.toBeNull();
        const [sent, read] = [Number(m![1]), Number(m![2])];
        expect(sent).toBeGreaterThanOrEqual(0);
        // Bounded memory: what was read and not yet sent is a few chunks and one read piece, never the stream.
        expect(read - sent).toBeLessThanOrEqual(3 * 4096 + 2 * 65536 + 4097);
      });
    }
  },
);

describe.skipIf(!haveFirmware)('dma-bridge virtual', () => {
  it('serves the board on TCP until SIGTERM, and info reaches it there', async () => {
    const server = spawn(process.execPath, [BIN, 'virtual', '--no-pty', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(server);
    let stderr = '';
    server.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const firstLine = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout! }).once('line', resolve);
      server.once('exit', (code) => reject(new Error(`virtual exited (${code}): ${stderr}`)));
    });
    const addresses = JSON.parse(firstLine) as { tcp: string; pty: string | null };
    expect(addresses.tcp).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(addresses.pty).toBeNull();

    // The clients run in this process: the server is the process under test.
    for (let session = 0; session < 2; session++) {
      const { code, stdout, stderr: infoErr } = await inProcess('info', '--json', '--port', addresses.tcp);
      expect(infoErr).toBe('');
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ board: addresses.tcp, virtual: false, devId: 0x460 });
    }

    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    const nextLine = new Promise<string>((resolve) => {
      let out = '';
      server.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
    });
    server.kill('SIGTERM');
    // Stopped by a signal, as every long-running command: exit 130, one more JSON object, a summary line.
    expect(await exited).toBe(130);
    expect(JSON.parse(await nextLine)).toMatchObject({ interrupted: true, sessions: 2 });
    expect(lines(stderr).at(-1)).toBe(
      'dma-bridge: interrupted: stopped serving the virtual board after 2 client sessions',
    );
    expect(stderr).toMatch(/client 127\.0\.0\.1:\d+ connected \(session 2\)/);
  });
});
