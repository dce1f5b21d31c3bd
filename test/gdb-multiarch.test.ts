/**
 * Debian's gdb-multiarch, in batch mode, against the GDB stub of the
 * virtual board running the bridge firmware while a client talks to it:
 * attach, a breakpoint in the host link's interrupt handler taken when the
 * client sends a request, registers, the stack and a peripheral register,
 * a step, a write watchpoint on the firmware's state, detach, attach again,
 * continue and Ctrl-C, detach; the board still answers the client afterwards.
 */
import { execFile, execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { serveGdb } from '../emulator/debug/serve-gdb.ts';
import { FIRMWARE_ELF } from './support/firmware.ts';
import { openVirtualTarget, type VirtualTarget } from './support/virtual-target.ts';

const hasGdb = (() => {
  try {
    execFileSync('gdb-multiarch', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let target: VirtualTarget | undefined;
afterEach(async () => {
  await target?.dispose();
  target = undefined;
});

function runGdb(port: number, commands: string[], onSpawn: (interrupt: () => void) => void): Promise<string> {
  const args = [
    '-batch',
    '-nx',
    '-ex',
    'set pagination off',
    '-ex',
    'set confirm off',
    '-ex',
    'set remotetimeout 20',
  ];
  args.push('-ex', `file ${FIRMWARE_ELF}`, '-ex', `target remote 127.0.0.1:${port}`);
  for (const c of commands) args.push('-ex', c);
  return new Promise((resolve, reject) => {
    const gdb = execFile(
      'gdb-multiarch',
      args,
      { timeout: 45_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error?.killed) reject(new Error(`gdb-multiarch timed out:\n${stdout}\n${stderr}`));
        else resolve(`${stdout}\n${stderr}`);
      },
    );
    // Ctrl-C in GDB's terminal is SIGINT to GDB, which sends the stub its interrupt byte.
    onSpawn(() => gdb.kill('SIGINT'));
  });
}

// CI installs gdb-multiarch (scripts/setup.sh, .ci/run): there it must run.
describe.skipIf(!hasGdb && !process.env.CI)('gdb-multiarch on the virtual board', () => {
  it('breaks in USART2_IRQHandler on a request, reads, steps, watches, detaches; the board serves on', async () => {
    target = await openVirtualTarget();
    const { board, vb } = target;
    // The second connection's continue has no breakpoint to stop it: Ctrl-C does.
    let interrupt = () => {};
    let connections = 0;
    const server = await serveGdb(vb, 0, {
      trace: (direction, payload) => {
        if (direction === '>' && payload.startsWith('qSupported')) connections++;
        if (direction === '>' && payload === 'vCont;c' && connections === 2)
          setTimeout(() => interrupt(), 100);
      },
    });
    let pinging = true;
    let pings = 0;
    // A client that keeps sending requests: while the board is held its
    // virtual time stands still, so the client just waits (no timeout fires).
    const client = (async () => {
      while (pinging) {
        await board.ping();
        pings++;
        // A pause between requests leaves the CPU to GDB (the suite runs files side by side).
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    let output: string;
    try {
      output = await runGdb(
        server.port,
        [
          'break USART2_IRQHandler',
          'continue',
          'info registers',
          'printf "ipsr=%d\\n", $xpsr & 0x3f',
          'x/8xw $sp',
          'backtrace',
          'printf "usart2_isr=%#x\\n", *(unsigned int *)0x4000441c',
          'printf "pc_before=%#x\\n", $pc',
          'stepi',
          'printf "pc_after=%#x\\n", $pc',
          'delete',
          'watch -l tx.head',
          'continue',
          'delete',
          'detach',
          `target remote 127.0.0.1:${server.port}`,
          'printf "reattached_pc=%#x\\n", $pc',
          'continue',
          'printf "interrupted_pc=%#x\\n", $pc',
          'monitor regs',
          'detach',
        ],
        (send) => {
          interrupt = send;
        },
      );
    } finally {
      await server.close();
    }
    expect(output, output).toMatch(/Breakpoint 1, USART2_IRQHandler \(\) at src\/hostlink\.c:\d+/);
    // Registers from the m-profile description; the handler runs as exception 16 + 28.
    for (const r of ['r0', 'r12', 'sp', 'lr', 'pc', 'xpsr', 'msp', 'psp', 'primask', 'control'])
      expect(output).toMatch(new RegExp(`^${r}\\s+0x[0-9a-f]+`, 'm'));
    expect(output).toMatch(/^pc\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <USART2_IRQHandler>/m);
    expect(output).toContain('ipsr=44');
    expect(output).toMatch(/^lr\s+0xfffffff9/m); // EXC_RETURN: back to thread mode on MSP
    // The stack holds the exception frame GDB unwinds through.
    expect(output).toMatch(/^0x2000[0-9a-f]{4}:(\s+0x[0-9a-f]{8}){4}/m);
    expect(output).toContain('<signal handler called>');
    expect(output).toMatch(/#\d+\s+.*main \(\) at src\/main\.c/);
    // USART2_ISR as the core would read it: TEACK and REACK set (the USART is on).
    const isr = Number(/usart2_isr=(0x[0-9a-f]+)/.exec(output)?.[1]);
    expect(isr & (3 << 21)).toBe(3 << 21);
    const before = Number(/pc_before=(0x[0-9a-f]+)/.exec(output)?.[1]);
    const after = Number(/pc_after=(0x[0-9a-f]+)/.exec(output)?.[1]);
    expect(after === before + 2 || after === before + 4).toBe(true);
    expect(output).toMatch(/Hardware watchpoint 2: -location tx\.head\s+Old value = \d+\s+New value = \d+/);
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
    expect(output).toMatch(/reattached_pc=0x8[0-9a-f]+/);
    expect(output).toContain('Program received signal SIGINT, Interrupt.');
    expect(output).toMatch(/interrupted_pc=0x8[0-9a-f]+/);
    expect(output).toMatch(/pc=0x0800[0-9a-f]{4}/); // monitor regs
    expect(output.match(/detached/g)?.length, output).toBe(2);
    // The board answers the client after the debugger has gone.
    const done = pings;
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const poll = () => {
        if (pings >= done + 3) resolve();
        else if (Date.now() > deadline) reject(new Error('the board stopped answering after detach'));
        else setTimeout(poll, 5);
      };
      poll();
    });
    pinging = false;
    await client;
    expect(vb.held).toBe(false);
  }, 60_000);
});
