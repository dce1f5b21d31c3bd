/**
 * The virtual Nucleo-G071RB: the chip with its firmware, the two serial
 * ports' far ends, and a run loop. The loop runs the core in slices of
 * virtual time as fast as the host allows (not paced to wall-clock time),
 * yields to the host's event loop between slices, and when the core sleeps
 * with nothing scheduled it waits for host input instead of spinning.
 */
import type { RunResult } from '../core/cpu.ts';
import { loadElf } from '../core/elf.ts';
import type { Semihosting } from '../core/semihosting.ts';
import { createStm32g071, type PeripheralMode, type Stm32g071 } from '../stm32g071/chip.ts';
import type { StrictReport } from '../stm32g071/strict.ts';
import { mismatchText } from '../stm32g071/uart-waveform.ts';
import { type HostPort, type HostPortOptions, HostSerialPort } from './host-port.ts';
import { MacrotaskYield } from './macrotask.ts';
import { type SerialPeer, Usart1Wire, type Usart1Wiring } from './serial-peer.ts';
import { SystemBootloaderPort } from './system-bootloader.ts';

export interface VirtualBoardOptions {
  /** The firmware: an ELF executable, or a raw flash image (`.bin`). */
  firmware?: Uint8Array;
  /** 96-bit unique device ID; give each board of a test its own. */
  uid?: readonly [number, number, number];
  /** What USART1's pins are wired to (default 'peer'). */
  usart1?: Usart1Wiring;
  /** Longest stretch of virtual time run before yielding to the host, ns (default 1 ms). */
  sliceNs?: number;
  /** Semihosting for test programs (off on a plain board). */
  semihosting?: Semihosting | null;
  /** PLL lock time, ns. */
  pllLockNs?: number;
  /**
   * Seed of SRAM's content at each power-on (see createStm32g071's
   * `sramSeed`). Without one every board draws its own at random, so its
   * boot epochs differ from any other board's; `board.sramSeed` tells it.
   */
  sramSeed?: number;
  /**
   * Starts the chip in its system bootloader instead of the firmware, as an
   * STM32G0 does after the first programming of its flash until it is
   * powered off and on (the empty check, RM0444 §2.5): the host port then
   * answers as ST's bootloader does (see system-bootloader.ts), and the
   * next `powerCycle()` runs the firmware. A reset (NRST) keeps it there.
   */
  bootloader?: boolean;
  /**
   * The USART1 peer's line rate (default 115200; see `peer.baudRate`):
   * a test that runs USART1 at another rate sets the peer to it, as a user
   * sets the device at the other end.
   */
  peerBaudRate?: number | 'follow-board';
  /** Most recent bytes `peer.received()` keeps (default 262144); `peer.onByte` sees them all. */
  peerLogLimit?: number;
  /**
   * 'fast' (default): virtual time runs as fast as the host can emulate.
   * 'realtime': never ahead of the wall clock, as a real board behind a
   * serial port (a board served to other programs, whose timeouts are in
   * real time).
   */
  pace?: 'fast' | 'realtime';
  /**
   * How the USARTs and the DMA move characters (see createStm32g071's
   * `peripheralMode`): 'bulk' by default, 'per-character' as the reference.
   */
  peripheralMode?: PeripheralMode;
}

/** Why the core stopped for good (until `reset()`). */
export type BoardHalt = Extract<RunResult, { reason: 'exit' | 'breakpoint' | 'lockup' }>;

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
/** FLASH_ACR.EMPTY: main flash found empty by the empty check. */
const ACR_EMPTY = 1 << 16;

const creationListeners = new Set<(board: VirtualBoard) => void>();

/**
 * Calls `listener` with every VirtualBoard made from now on: a test harness
 * that checks no board reported a strict-board rule. Returns an unsubscribe
 * function.
 */
export function onVirtualBoardCreated(listener: (board: VirtualBoard) => void): () => void {
  creationListeners.add(listener);
  return () => creationListeners.delete(listener);
}

export class VirtualBoard {
  readonly chip: Stm32g071;
  /** USART1's far end when wired to a peer. */
  readonly peer: SerialPeer;
  /** Increments on every reset, including the first power-on. */
  bootCount = 0;
  /** The seed of SRAM's power-on content: give it as `sramSeed` to power up the same way again. */
  get sramSeed(): number {
    return this.chip.sramSeed;
  }
  private readonly wire: Usart1Wire;
  private readonly sliceNs: number;
  private readonly macrotask = new MacrotaskYield();
  private port: HostSerialPort | SystemBootloaderPort | undefined;
  /** The chip runs its system bootloader, not the firmware (see `bootloader`). */
  private inBootloader: boolean;
  private started = false;
  private loopRunning: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private haltResult: BoardHalt | undefined;
  private readonly pace: 'fast' | 'realtime';
  /** Virtual and wall time (ms) when pacing last started: virtual never gets ahead of wall since then. */
  private paceFrom = { virtualMs: 0, wallMs: 0 };
  private readonly reportHostRate: (usartBitNs: number, hostBitNs: number) => void;
  private readonly haltListeners = new Set<(halt: BoardHalt) => void>();
  private readonly ledListeners = new Set<(lit: boolean, timeNs: number) => void>();
  /** Held by a debugger: the loop runs nothing and virtual time stands still. */
  private debugHeld = false;
  private readonly runStopListeners = new Set<(result: RunResult) => void>();
  private ledWas = false;
  /** Times LD4 went on or off since the board was made (resets included). */
  ledTransitions = 0;

  constructor(options: VirtualBoardOptions = {}) {
    this.chip = createStm32g071({
      ...(options.uid ? { uid: options.uid } : {}),
      ...(options.semihosting ? { semihosting: options.semihosting } : {}),
      ...(options.pllLockNs === undefined ? {} : { pllLockNs: options.pllLockNs }),
      ...(options.sramSeed === undefined ? {} : { sramSeed: options.sramSeed }),
      ...(options.peripheralMode === undefined ? {} : { peripheralMode: options.peripheralMode }),
    });
    this.inBootloader = options.bootloader === true;
    this.sliceNs = options.sliceNs ?? 1_000_000;
    this.pace = options.pace ?? 'fast';
    this.wire = new Usart1Wire(
      this.chip.usart1,
      options.usart1 ?? 'peer',
      () => this.wake(),
      options.peerLogLimit,
      options.peerBaudRate,
    );
    this.peer = this.wire;
    const mismatch = (peripheral: string, text: string) =>
      this.chip.strict.report('baud-mismatch', peripheral, text);
    this.wire.onRateMismatch = (usartBit, peerBit) =>
      mismatch('USART1 TX', mismatchText('USART1', usartBit, 'the peer', peerBit));
    this.chip.usart1.onRateMismatch = (peerBit, usartBit) =>
      mismatch('USART1 RX', mismatchText('the peer', peerBit, 'USART1', usartBit));
    this.chip.usart2.onRateMismatch = (hostBit, usartBit) =>
      mismatch('USART2 RX', mismatchText('the host port', hostBit, 'USART2', usartBit));
    this.reportHostRate = (usartBit, hostBit) =>
      mismatch('USART2 TX', mismatchText('USART2', usartBit, 'the host port', hostBit));
    // The host hears the bytes when a slice ends, and acts at the end of a
    // burst: a bulk engine need only stop there, unless the port times its
    // USB frames, at each byte.
    this.chip.usart2.transmitTiming = () =>
      this.port instanceof HostSerialPort && this.port.timesFrames ? 'each' : 'batched-until-idle';
    this.chip.usart2.onTransmit = (byte) => {
      this.port?.transmitted(byte);
      // The end of a burst on the host link: the host may act on it now, so
      // the slice ends here and the host sees the bytes at this virtual time
      // (not at the end of the slice), and answers from here.
      if (!this.chip.usart2.transmitting) this.chip.cpu.yieldSoon();
    };
    this.chip.gpioa.onOutputChange(() => this.noteLed());
    this.chip.gpioa.onModeChange(() => this.noteLed());
    for (const l of creationListeners) l(this);
    if (options.firmware) this.loadFirmware(options.firmware);
    else this.powerOn();
  }

  /**
   * What the firmware did that silicon would reject or ignore (see
   * emulator/stm32g071/strict.ts): a firmware that runs here with none has
   * no such defect for the rules the virtual board checks.
   */
  get strictReports(): readonly StrictReport[] {
    return this.chip.strict.reports;
  }

  /**
   * Called at each new distinct strict report (see `strictReports`), as it
   * happens: a harness can stop at the first. Returns an unsubscribe function.
   */
  onStrict(listener: (report: StrictReport) => void): () => void {
    return this.chip.strict.onReport(listener);
  }

  /** Programs the flash with an ELF (PT_LOAD segments at their load addresses) or a raw image, then powers on. */
  loadFirmware(firmware: Uint8Array): void {
    this.chip.flash.fill(0xff);
    const isElf = ELF_MAGIC.every((b, i) => firmware[i] === b);
    if (isElf) {
      const functions = [...loadElf(firmware, this.chip.bus).symbols.values()].filter(
        (sym) => sym.type === 2 && sym.size > 0,
      );
      this.chip.codeName = (address) =>
        functions.find((f) => address >= (f.value & ~1) && address < (f.value & ~1) + f.size)?.name;
    } else {
      this.chip.loadFlash(firmware);
      this.chip.codeName = undefined;
    }
    this.powerOn();
  }

  /** Virtual time, ns. */
  get nowNs(): number {
    return this.chip.clock.nowNs;
  }

  get running(): boolean {
    return this.started;
  }

  /** Why the core halted, if it has (exit through semihosting, BKPT, lockup). */
  get halted(): BoardHalt | undefined {
    return this.haltResult;
  }

  get usart1Wiring(): Usart1Wiring {
    return this.wire.mode;
  }

  /** Rewires USART1: to the virtual peer, or TX back to RX. */
  setUsart1Wiring(mode: Usart1Wiring): void {
    this.wire.mode = mode;
  }

  /** Called when the core halts. Returns an unsubscribe function. */
  onHalt(listener: (halt: BoardHalt) => void): () => void {
    this.haltListeners.add(listener);
    return () => this.haltListeners.delete(listener);
  }

  /** Starts (or resumes) running the firmware. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.ensureLoop();
  }

  /** Stops running after the current slice; virtual time stands still until `start()`. */
  async stop(): Promise<void> {
    this.started = false;
    this.wake();
    await this.loopRunning;
  }

  /** Whether a debugger holds the board (see `hold`). */
  get held(): boolean {
    return this.debugHeld;
  }

  /**
   * Holds the whole chip for a debugger, from the end of the current slice
   * (an instruction boundary): the core, the peripherals, the DMA and the
   * host port's timers all wait, since they all run on virtual time, which
   * stands still. A host talking to the board just sees a slow board.
   */
  hold(): void {
    this.debugHeld = true;
    this.chip.cpu.yieldSoon();
  }

  /** Lets a held board run on; after a BKPT halt, past the BKPT. */
  release(): void {
    if (this.haltResult?.reason === 'breakpoint') {
      this.chip.cpu.resume();
      this.haltResult = undefined;
    }
    this.debugHeld = false;
    this.wake();
    this.ensureLoop();
  }

  /** With the board held: crosses one instruction boundary, the chip's time moving with it. */
  stepInstruction(): RunResult {
    if (!this.debugHeld) throw new Error('stepInstruction: hold() the board first');
    const result = this.chip.cpu.step();
    this.chip.settlePeripherals();
    this.port?.flush();
    this.noteHalt(result);
    return result;
  }

  /**
   * Called when a run stops by itself, the board then holding: the core's
   * observer (a debugger's breakpoint) stopped it, or it halted (exit,
   * BKPT, lockup). Returns an unsubscribe function.
   */
  onRunStop(listener: (result: RunResult) => void): () => void {
    this.runStopListeners.add(listener);
    return () => this.runStopListeners.delete(listener);
  }

  /**
   * Presses the reset button (NRST): a system reset; a new boot starts if the
   * board is running. A chip in its bootloader stays there unless software
   * (a debugger, after programming) cleared FLASH_ACR.EMPTY, which a power-on
   * latched (RM0444 §3.7.1).
   */
  reset(): void {
    if (this.inBootloader && !(this.chip.flashInterface.read(0, 4) & ACR_EMPTY)) this.inBootloader = false;
    this.chip.reset('pin');
    this.afterReset();
    this.latchEmpty();
  }

  /** In the bootloader the empty check found main flash empty: FLASH_ACR.EMPTY reads 1. */
  private latchEmpty(): void {
    if (!this.inBootloader) return;
    const acr = this.chip.flashInterface.read(0, 4);
    this.chip.flashInterface.write(0, acr | ACR_EMPTY, 4);
  }

  /**
   * Unplugs and replugs the board's power: SRAM powers up with new content,
   * the reset flags start over, and a new boot starts if the board is running.
   */
  powerCycle(): void {
    // Powered up again with its flash programmed, the chip runs the firmware.
    this.inBootloader = false;
    this.powerOn();
  }

  /** Whether the chip runs its system bootloader rather than the firmware. */
  get runsBootloader(): boolean {
    return this.inBootloader;
  }

  /** Stops the board for good and closes the host port. */
  async dispose(): Promise<void> {
    await this.stop();
    await this.port?.close();
    this.macrotask.close();
  }

  /** `await using vb = ...`: disposes the board when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /**
   * USART2 as the ST-LINK virtual COM port. One port can be open at a time;
   * close it before opening another. The port starts at 115200 baud, the
   * bridge's boot rate, unless `options.baudRate` says otherwise.
   */
  hostPort(options: HostPortOptions & { parity?: 'none' | 'even' } = {}): HostPort & {
    setParity?(parity: 'none' | 'even'): Promise<void>;
  } {
    if (this.port) throw new Error('the host port is already open');
    if (this.inBootloader) {
      const port = new SystemBootloaderPort(
        this.chip.clock,
        () => this.wake(),
        (p) => {
          if (this.port === p) this.setPort(undefined);
        },
        {
          ...(typeof options.baudRate === 'number' ? { baudRate: options.baudRate } : {}),
          ...(options.parity ? { parity: options.parity } : {}),
        },
      );
      this.setPort(port);
      return port;
    }
    const port = new HostSerialPort(
      this.chip.usart2,
      {
        clock: this.chip.clock,
        wake: () => this.wake(),
        yieldSoon: () => this.chip.cpu.yieldSoon(),
        onRateMismatch: this.reportHostRate,
        onClose: (p) => {
          if (this.port === p) this.setPort(undefined);
        },
      },
      options,
    );
    this.setPort(port);
    return port;
  }

  /** Bytes USART2 sent before the port changed went where the port was then. */
  private setPort(port: HostSerialPort | SystemBootloaderPort | undefined): void {
    this.chip.usart2.listenersChanged();
    this.port = port;
  }

  /** Drives the user button (PC13, active low): true = pressed. */
  setButton(pressed: boolean): void {
    this.chip.gpioc.setInput(13, !pressed);
    this.wake();
  }

  /** User LED LD4 (PA5, active high). */
  get led(): boolean {
    return (this.chip.gpioa.odr & (1 << 5)) !== 0 && this.chip.gpioa.mode(5) === 1;
  }

  /** Called each time LD4 goes on or off, with the virtual time. Returns an unsubscribe function. */
  onLedChange(listener: (lit: boolean, timeNs: number) => void): () => void {
    this.ledListeners.add(listener);
    return () => this.ledListeners.delete(listener);
  }

  private noteLed(): void {
    const lit = this.led;
    if (lit === this.ledWas) return;
    this.ledWas = lit;
    this.ledTransitions++;
    for (const l of this.ledListeners) l(lit, this.nowNs);
  }

  /** Runs the board for `ns` of virtual time right now, without the loop (for tests that step time themselves). */
  runFor(ns: number): RunResult {
    const end = this.nowNs + ns;
    let result: RunResult = { reason: 'time' };
    while (this.nowNs < end && !this.haltResult) {
      if (this.debugHeld) break;
      // Slices exist to hand the host port what the board sent; with no port, one run does.
      const slice = this.port ? this.sliceNs : Number.POSITIVE_INFINITY;
      result = this.chip.cpu.run(Math.min(slice, end - this.nowNs));
      this.chip.settlePeripherals();
      this.port?.flush();
      if (this.noteHalt(result)) break;
      if (result.reason === 'observer') {
        this.noteRunStop(result);
        break;
      }
      if (result.reason === 'idle') {
        // Asleep with nothing scheduled: time still passes on the board.
        this.chip.clock.advanceTo(end);
        this.chip.settlePeripherals();
        break;
      }
    }
    return result;
  }

  /** Wakes the loop when it waits for input; every host input calls this. */
  wake(): void {
    this.woken = true;
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private powerOn(): void {
    this.chip.gpioc.setInput(13, true); // the button's pull-up: released
    this.chip.reset('power');
    this.afterReset();
    this.latchEmpty();
  }

  private afterReset(): void {
    this.noteLed(); // a reset puts PA5 back to analog: LD4 goes dark
    this.bootCount++;
    this.haltResult = undefined;
    this.wake();
    this.ensureLoop();
  }

  private ensureLoop(): void {
    if (!this.started || this.loopRunning) return;
    this.loopRunning = this.loop().finally(() => {
      this.loopRunning = undefined;
    });
  }

  private noteHalt(result: RunResult): boolean {
    if (result.reason !== 'exit' && result.reason !== 'breakpoint' && result.reason !== 'lockup')
      return false;
    this.haltResult = result;
    for (const l of this.haltListeners) l(result);
    return true;
  }

  /** The core's observer stopped the run, or the core halted: a debugger, if any, takes over. */
  private noteRunStop(result: RunResult): void {
    if (this.runStopListeners.size === 0) return;
    this.debugHeld = true;
    for (const l of this.runStopListeners) l(result);
  }

  private async loop(): Promise<void> {
    this.repace();
    while (this.started && !this.haltResult) {
      if (this.debugHeld) {
        await this.waitWhileHeld();
        this.repace();
        continue;
      }
      this.woken = false;
      if (this.inBootloader) {
        // The ROM's bootloader is modelled at the host port only: time goes
        // from one scheduled event to the next, or waits for the host.
        const due = this.chip.clock.nextDueNs();
        if (Number.isFinite(due)) {
          this.chip.clock.advanceTo(Math.min(due, this.nowNs + this.sliceNs));
          await this.macrotask.next();
        } else await this.waitForInput();
        continue;
      }
      const result = this.chip.cpu.run(this.sliceNs);
      this.chip.settlePeripherals();
      this.port?.flush();
      if (this.noteHalt(result)) {
        this.noteRunStop(result);
        break;
      }
      if (result.reason === 'observer') {
        this.noteRunStop(result);
        continue;
      }
      if (result.reason === 'idle') {
        await this.waitForInput();
        // Asleep, the board's time stood still: count from now, not from before.
        this.repace();
      } else if (this.pace === 'realtime') {
        await this.keepPace();
      } else {
        await this.macrotask.next();
      }
    }
  }

  private repace(): void {
    this.paceFrom = { virtualMs: this.nowNs / 1e6, wallMs: performance.now() };
  }

  /** Waits until the wall clock has caught up with the board's. */
  private async keepPace(): Promise<void> {
    const ahead = this.nowNs / 1e6 - this.paceFrom.virtualMs - (performance.now() - this.paceFrom.wallMs);
    if (ahead < 1) {
      await this.macrotask.next();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ahead);
      // Woken early by host input: the host is not kept waiting for the pace.
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
  }

  private async waitWhileHeld(): Promise<void> {
    while (this.debugHeld && this.started) {
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
      });
    }
  }

  private waitForInput(): Promise<void> {
    if (this.woken || !this.started) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeUp = resolve;
    });
  }
}
