/**
 * A pseudo-terminal in front of the board's TCP port, so programs that only
 * know serial ports (serialport, minicom, the conformance suite) can open
 * the virtual board as a device file. Node has no pty API; socat makes one.
 *
 * socat runs with `wait-slave`: it connects to the TCP port only once a
 * program opens the pty, and exits when that program closes it. We start a
 * new socat each time, so the pty serves one session after another and does
 * not hold the board's single TCP slot while nobody uses it. `link=` gives
 * the pty a stable name across these restarts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { lstat, rm } from 'node:fs/promises';

export interface PtyBridgeOptions {
  /** The board's TCP port on 127.0.0.1. */
  readonly tcpPort: number;
  /** A symbolic link to create for the pty (e.g. /tmp/nucleo), stable across sessions. */
  readonly link?: string;
  readonly socat?: string;
  readonly log?: (line: string) => void;
}

export class SocatError extends Error {
  override name = 'SocatError';
}

const PTY_LINE = /PTY is (\S+)/;
/**
 * socat runs that end sooner than this without having served a session are
 * failures, and the next start waits longer.
 */
const HEALTHY_RUN_MS = 1000;
/** socat -d -d says this once a program opened the pty and the board's port answered. */
const SESSION_LINE = /starting data transfer loop/;
const MAX_RESTART_DELAY_MS = 2000;
const KILL_GRACE_MS = 200;

export class PtyBridge {
  private child: ChildProcess | undefined;
  private current: string;
  private started = 1;
  private closed = false;
  private restartDelayMs = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly killOnExit = (): void => {
    this.child?.kill();
  };

  private constructor(
    private readonly options: PtyBridgeOptions,
    first: SocatRun,
  ) {
    this.current = first.path;
    process.once('exit', this.killOnExit);
    this.adopt(first, Date.now());
  }

  /** Starts socat and resolves once it has made the pty (and its link). */
  static async start(options: PtyBridgeOptions): Promise<PtyBridge> {
    return new PtyBridge(options, await runSocat(options));
  }

  /** The pty device of the current socat (e.g. /dev/pts/3). */
  get path(): string {
    return this.current;
  }

  get link(): string | undefined {
    return this.options.link;
  }

  /** How many socat processes have made a pty so far: one more after each session. */
  get generation(): number {
    return this.started;
  }

  /** Stops socat for good; the pty and its link disappear. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    process.off('exit', this.killOnExit);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      // socat waiting for a slave only notices signals between its polls (up to a second).
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    });
    // A killed socat leaves its link behind; a dangling link would mislead the next user.
    if (this.options.link) await rm(this.options.link, { force: true }).catch(() => {});
  }

  private adopt(run: SocatRun, startedAt: number): void {
    const { child } = run;
    this.child = child;
    child.once('exit', () => {
      if (this.closed) return;
      // A short session (a CLI command, a test) is a success, not a crash loop.
      const healthy = run.servedSession() || Date.now() - startedAt >= HEALTHY_RUN_MS;
      // Right away after a session, so the pty is back before its user reopens it.
      this.restartDelayMs = healthy
        ? 0
        : Math.min(Math.max(this.restartDelayMs, 50) * 2, MAX_RESTART_DELAY_MS);
      this.restartTimer = setTimeout(() => void this.restart(), this.restartDelayMs);
    });
  }

  private async restart(): Promise<void> {
    if (this.closed) return;
    try {
      const next = await runSocat(this.options);
      if (this.closed) {
        next.child.kill();
        return;
      }
      if (next.path !== this.current) this.options.log?.(`pty is now ${next.path}`);
      this.current = next.path;
      this.started++;
      this.adopt(next, Date.now());
    } catch (error) {
      this.options.log?.(`pty: ${error instanceof Error ? error.message : String(error)}`);
      this.restartTimer = setTimeout(() => void this.restart(), MAX_RESTART_DELAY_MS);
    }
  }
}

interface SocatRun {
  readonly child: ChildProcess;
  readonly path: string;
  /** True once a program opened the pty and socat connected it to the board. */
  servedSession(): boolean;
}

const LINK_WAIT_MS = 5000;

/** Resolves once `link` exists; rejects if socat exits first or it takes too long. */
async function waitForLink(link: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + LINK_WAIT_MS;
  for (;;) {
    if (
      await lstat(link).then(
        () => true,
        () => false,
      )
    )
      return;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new SocatError(`socat exited before making the link ${link}`);
    }
    if (Date.now() > deadline)
      throw new SocatError(`socat made a pty but no link ${link} within ${LINK_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function runSocat(options: PtyBridgeOptions): Promise<SocatRun> {
  const ptyAddress = [
    'pty',
    'raw',
    'echo=0',
    'wait-slave',
    // socat checks whether the slave was opened every pty-interval (1 s by
    // default): each session would start up to a second late.
    'pty-interval=0.01',
    ...(options.link ? [`link=${options.link}`] : []),
  ].join(',');
  const args = ['-d', '-d', ptyAddress, `tcp:127.0.0.1:${options.tcpPort}`];
  const child = spawn(options.socat ?? 'socat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stderr = '';
    let found = false;
    let served = false;
    const onData = (chunk: Buffer): void => {
      // Read on after the pty line too, or socat would block on a full pipe; keep only what is needed.
      if (served) return;
      const text = chunk.toString();
      if (found) {
        // The line may straddle two chunks: keep a short tail of the previous one.
        stderr = stderr.slice(-64) + text;
        served = SESSION_LINE.test(stderr);
        return;
      }
      stderr += text;
      served = SESSION_LINE.test(stderr);
      const match = PTY_LINE.exec(stderr);
      if (match?.[1] && !found) {
        found = true;
        const run = { child, path: match[1], servedSession: () => served };
        // socat may announce the pty before its link exists (more so on a busy
        // machine): a program opening the link right away must find it.
        if (options.link) waitForLink(options.link, child).then(() => resolve(run), reject);
        else resolve(run);
      }
    };
    child.stderr?.on('data', onData);
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new SocatError(
          error.code === 'ENOENT'
            ? 'socat is not installed; install it (Debian/Ubuntu: sudo apt-get install socat) or use --no-pty'
            : `cannot start socat: ${error.message}`,
          { cause: error },
        ),
      );
    });
    child.once('exit', (code) => {
      if (found) return;
      const last = stderr.trim().split('\n').at(-1) ?? '';
      reject(new SocatError(`socat exited (${code}) before making a pty${last ? `: ${last}` : ''}`));
    });
  });
}
