/**
 * The STM32G071RB: memories and peripherals on a system bus, their interrupt
 * lines on the core's NVIC, and the RCC's clocks driving the core, the DMA
 * and the USARTs. Wiring only; behaviour lives in the peripheral files.
 */
import { type MemoryMappedDevice, peekDevice } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { Cpu, type FetchTiming, type RunResult } from '../core/cpu.ts';
import type { InterruptLine } from '../core/irq.ts';
import type { Semihosting } from '../core/semihosting.ts';
import { SystemBus } from '../core/system-bus.ts';
import { VirtualClock } from '../core/virtual-clock.ts';
import { BulkEngine } from './bulk-engine.ts';
import { clockGates } from './clock-gating.ts';
import { DBGMCU, DBGMCU_BASE, Dbgmcu } from './dbgmcu.ts';
import { DMA1_BASE, Dma } from './dma.ts';
import { DMAMUX_CHANNELS, DMAMUX1_BASE, DMAREQ, Dmamux, missingRequestText } from './dmamux.ts';
import { FLASH_BASE_REGS, FlashInterface, flashWaitStates } from './flash-interface.ts';
import { GPIO, GPIO_BASES, Gpio } from './gpio.ts';
import { IWDG_BASE, Iwdg } from './iwdg.ts';
import { PinMux } from './pin-mux.ts';
import { type ClockGate, RCC_BASE, Rcc } from './rcc.ts';
import { checkedWrites } from './register-checks.ts';
import { RegisterStorage } from './register-storage.ts';
import { misuseText, StrictMonitor } from './strict.ts';
import { SYSCFG_BASE, Syscfg } from './syscfg.ts';
import { SYSTEM_MEMORY_BASE, SYSTEM_MEMORY_SIZE, SystemMemory } from './system-memory.ts';
import { USART1_BASE, USART2_BASE, Usart } from './usart.ts';
import { type CoreSnapshot, watchdogResetText } from './watchdog-report.ts';

export const FLASH_BASE = 0x0800_0000;
export const FLASH_SIZE = 128 * 1024;
/** Lines of 64 bits the model's instruction cache keeps (a model figure: a loop's lines fit). */
const FLASH_CACHE_LINES = 16;
export const SRAM_BASE = 0x2000_0000;
/** 36 KiB as in ST's Nucleo linker script (the CMSIS header's SRAM_SIZE_MAX says 32 KiB). */
export const SRAM_SIZE = 36 * 1024;
/** Size of each peripheral register block in the memory map (RM0444 §2.2.2). */
const BLOCK = 0x400;

/** Interrupt numbers (RM0444 §12.3, vector table). */
export const IRQ = {
  DMA1_CHANNEL1: 9,
  DMA1_CHANNEL2_3: 10,
  DMA1_CH4_7_DMAMUX1_OVR: 11,
  USART1: 27,
  USART2: 28,
} as const;

/**
 * Blocks mapped with plain read/write registers because firmware may touch
 * them though nothing on the board depends on what they do: PWR (CR1 holds
 * the voltage range ST's clock setup checks; range 1 out of reset allows
 * 64 MHz). Reset values from the SVD.
 */
export const UNMODELLED_BLOCKS = [
  {
    name: 'PWR',
    base: 0x4000_7000,
    registers: { 0: 0x0000_0200, 4: 0, 8: 0x0000_8000, 12: 0, 16: 0, 20: 0, 24: 0 },
  },
] as const;

/** What the chip and the board need from a CPU core (emulator/core's `Cpu`, or a stand-in in tests). */
export interface CpuCore {
  readonly nvic: { line(n: number): InterruptLine };
  /** Core clock (HCLK); the RCC sets it. */
  frequencyHz: number;
  reset(): void;
  /** Runs up to `maxNs` of virtual time (see `Cpu.run`). */
  run(maxNs: number): RunResult;
  /** Called instead of a core-only reset when software requests a system reset (AIRCR.SYSRESETREQ). */
  onResetRequest: (() => void) | null;
  /** Ends the current run() at the next instruction boundary (see Cpu.yieldSoon). */
  yieldSoon(): void;
  /** Makes instruction fetches from a range fail (see Cpu.setFetchFault); a stand-in core may ignore it. */
  setFetchFault?(base: number, size: number, reason: string | null): void;
  /** Where the core is, for reports (see watchdog-report.ts); a stand-in core may leave these out. */
  reg?(n: number): number;
  readonly xpsr?: number;
  readonly isSleeping?: boolean;
  readonly sysTick?: CoreSnapshot['sysTick'];
  /** Makes fetches from a range cost wait states (see Cpu.setFetchTiming); a stand-in core may ignore it. */
  setFetchTiming?(timing: FetchTiming | null): void;
}

export interface Stm32g071Options<C extends CpuCore = Cpu> {
  /** Builds the core on the chip's bus and clock; default: emulator/core's Cpu. */
  cpu?: (env: { bus: SystemBus; clock: VirtualClock }) => C;
  /** Semihosting for the default core (test programs); off by default, as on a board without a debugger. */
  semihosting?: Semihosting | null;
  clock?: VirtualClock;
  /** 96-bit unique device ID (three little-endian words at 0x1FFF_7590). */
  uid?: readonly [number, number, number];
  /** DBG_IDCODE.REV_ID. */
  revId?: number;
  /** PLL lock time, ns. */
  pllLockNs?: number;
  /** HCLK cycles per DMA data item. */
  dmaCyclesPerItem?: number;
  /**
   * How the USARTs, the DMAMUX and the DMA move characters: 'bulk' (the
   * default) many per scheduled event, worked out when something looks
   * (bulk-engine.ts); 'per-character' each one through the clock, the
   * reference the bulk engine is held to.
   */
  peripheralMode?: PeripheralMode;
  /**
   * Seed of what SRAM holds at each power-on: SRAM powers up with
   * unpredictable content, different at every power-on; a seed makes the
   * sequence repeatable (default: a new random seed for every chip, so no
   * two boards, in one process or in two, power up alike).
   */
  sramSeed?: number;
}

export type PeripheralMode = 'per-character' | 'bulk';

const hex32 = (n: number) => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

/** A seed no other chip is likely to have: 32 bits from the platform's random source. */
function randomSramSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}

export interface Stm32g071<C extends CpuCore = Cpu> {
  readonly clock: VirtualClock;
  readonly bus: SystemBus;
  readonly cpu: C;
  readonly flash: Uint8Array;
  readonly sram: Uint8Array;
  readonly rcc: Rcc;
  readonly flashInterface: FlashInterface;
  readonly gpioa: Gpio;
  readonly gpiob: Gpio;
  readonly gpioc: Gpio;
  readonly usart1: Usart;
  readonly usart2: Usart;
  readonly dma1: Dma;
  readonly dmamux1: Dmamux;
  readonly syscfg: Syscfg;
  readonly dbgmcu: Dbgmcu;
  readonly iwdg: Iwdg;
  readonly systemMemory: SystemMemory;
  /** What the firmware did that silicon would reject or ignore (see strict.ts). */
  readonly strict: StrictMonitor;
  /** The seed of SRAM's power-on content (given, or chosen at random): pass it again to repeat a run. */
  readonly sramSeed: number;
  /** Names the firmware function holding a code address, for reports (set by whoever loaded an ELF). */
  codeName: ((address: number) => string | undefined) | undefined;
  readonly peripheralMode: PeripheralMode;
  /**
   * Brings what the bulk engine works out lazily up to now (peripheral
   * state, memory a DMA run writes, characters a peer hears in batches);
   * nothing in 'per-character' mode.
   */
  settlePeripherals(): void;
  /** The bulk engine, in 'bulk' mode. */
  readonly bulk: BulkEngine | null;
  /** Copies a raw image into flash at `offset` (a programmer writing flash). */
  loadFlash(image: Uint8Array, offset?: number): void;
  /**
   * Reset: peripherals to reset values, then the core, which fetches its
   * vectors from flash (flash and SRAM keep their contents). 'pin' (NRST,
   * the default) and 'software' (SYSRESETREQ) are system resets and set
   * their flag in RCC_CSR; 'power' starts the reset flags over and SRAM
   * powers up holding new noise (see `sramSeed`).
   */
  reset(cause?: 'power' | 'pin' | 'software' | 'watchdog'): void;
}

export function createStm32g071(options?: Stm32g071Options<Cpu>): Stm32g071<Cpu>;
export function createStm32g071<C extends CpuCore>(
  options: Stm32g071Options<C> & { cpu: (env: { bus: SystemBus; clock: VirtualClock }) => C },
): Stm32g071<C>;
export function createStm32g071(options: Stm32g071Options<CpuCore> = {}): Stm32g071<CpuCore> {
  const clock = options.clock ?? new VirtualClock();
  const bus = new SystemBus();
  const flash = new Uint8Array(FLASH_SIZE).fill(0xff);
  const sram = new Uint8Array(SRAM_SIZE);
  const sramSeed = (options.sramSeed ?? randomSramSeed()) >>> 0;
  let sramNoise = sramSeed;
  /** Fills SRAM with the next power-on's content (xorshift32: cheap, and not all zero). */
  const powerUpSram = () => {
    sramNoise = (Math.imul(sramNoise, 0x2c1b3c6d) + 0x297a2d39) >>> 0;
    let x = sramNoise || 1;
    const words = new Uint32Array(sram.buffer, sram.byteOffset, sram.length >>> 2);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
  };
  bus.mapMemory(FLASH_BASE, flash, { writable: false, name: 'flash' });
  // Boot from main flash: it also answers at 0 (RM0444 §2.5).
  bus.mapAlias(0, FLASH_SIZE, FLASH_BASE);
  bus.mapMemory(SRAM_BASE, sram, { writable: true, name: 'SRAM' });

  const cpu: CpuCore = options.cpu
    ? options.cpu({ bus, clock })
    : new Cpu({ bus, clock, semihosting: options.semihosting ?? null });
  const line = (n: number) => cpu.nvic.line(n);

  const strict = new StrictMonitor(() => clock.nowNs);
  const rcc = new Rcc(clock, options.pllLockNs === undefined ? {} : { pllLockNs: options.pllLockNs });
  const gated = (g: ClockGate) => ({ clockEnabled: rcc.isEnabled(g) });
  rcc.onPllConfigError = (why, effect) =>
    strict.report(
      'pll-config',
      'RCC',
      effect === 'no-lock'
        ? `PLLON set with ${why}: the PLL never locks (PLLRDY stays 0)`
        : `a PLL output enabled with ${why}: it stays off, so nothing can run from it`,
    );
  rcc.onMisuse = (kind) => strict.report('peripheral-misuse', 'RCC', misuseText(kind));
  const dma1 = new Dma({
    clock,
    bus,
    irqs: [line(IRQ.DMA1_CHANNEL1), line(IRQ.DMA1_CHANNEL2_3), line(IRQ.DMA1_CH4_7_DMAMUX1_OVR)],
    hclkHz: rcc.hclkHz,
    ...(options.dmaCyclesPerItem === undefined ? {} : { cyclesPerItem: options.dmaCyclesPerItem }),
    ...gated('DMA1'),
  });
  const dmamux1 = new Dmamux((channel, level) => dma1.setRequest(channel, level), gated('DMA1'));
  const gpioa = new Gpio('A', gated('GPIOA'));
  const gpiob = new Gpio('B', gated('GPIOB'));
  const gpioc = new Gpio('C', gated('GPIOC'));
  const portGate = { A: 'GPIOA', B: 'GPIOB', C: 'GPIOC' } as const;
  const pinMux = new PinMux(strict, (gpio) => rcc.isEnabled(portGate[gpio.port]));
  // USART1 on PC4/PC5 and USART2 on PA2/PA3, both AF1 (DS12232 "Alternate functions").
  const usartPins = {
    1: pinMux.usartPins(
      { signal: 'USART1 TX', gpio: gpioc, pin: 4, af: 1 },
      { signal: 'USART1 RX', gpio: gpioc, pin: 5, af: 1 },
    ),
    2: pinMux.usartPins(
      { signal: 'USART2 TX', gpio: gpioa, pin: 2, af: 1 },
      { signal: 'USART2 RX', gpio: gpioa, pin: 3, af: 1 },
    ),
  } as const;
  const usart = (name: string, base: number, irq: number, rx: number, tx: number, n: 1 | 2) =>
    new Usart({
      pins: usartPins[n],
      name,
      base,
      clock: clock as Clock,
      irq: line(irq),
      txRequest: dmamux1.requestLine(tx),
      rxRequest: dmamux1.requestLine(rx),
      kernelHz: rcc.usartKernelHz(n),
      ...gated(n === 1 ? 'USART1' : 'USART2'),
    });
  const usart1 = usart('USART1', USART1_BASE, IRQ.USART1, DMAREQ.USART1_RX, DMAREQ.USART1_TX, 1);
  const usart2 = usart('USART2', USART2_BASE, IRQ.USART2, DMAREQ.USART2_RX, DMAREQ.USART2_TX, 2);
  const syscfg = new Syscfg(gated('SYSCFG'));
  const flashInterface = new FlashInterface();
  const dbgmcu = new Dbgmcu(options.revId === undefined ? {} : { revId: options.revId });
  // Reaching 0 resets the chip, saying where the core was: `chip` is defined below, before any code runs.
  const iwdg = new Iwdg(clock, () => {
    strict.report('watchdog-reset', 'IWDG', watchdogResetText(cpu, rcc.hclkHz, iwdg.periodNs, chip.codeName));
    chip.reset('watchdog');
  });
  const systemMemory = new SystemMemory(options.uid ? { uid: options.uid } : {});
  const storage = UNMODELLED_BLOCKS.map((b) => new RegisterStorage(b.name, b.base, b.registers));

  const peripheralMode = options.peripheralMode ?? 'bulk';
  const bulk =
    peripheralMode === 'bulk'
      ? new BulkEngine({
          clock,
          bus,
          usarts: [
            { usart: usart1, txRequest: DMAREQ.USART1_TX, rxRequest: DMAREQ.USART1_RX },
            { usart: usart2, txRequest: DMAREQ.USART2_TX, rxRequest: DMAREQ.USART2_RX },
          ],
          dma: dma1,
          dmamux: dmamux1,
        })
      : null;
  // A USART pin's routing is looked at as each character starts: the bulk
  // engine hands the timing back before a mode or alternate function changes.
  const pinGuarded = (device: MemoryMappedDevice): MemoryMappedDevice =>
    bulk === null
      ? device
      : {
          name: device.name,
          read: (offset, size) => device.read(offset, size),
          peek: (offset, size) => peekDevice(device, offset, size),
          write(offset, value, size) {
            const word = offset & ~3;
            if (word === GPIO.MODER || word === GPIO.AFRL || word === GPIO.AFRH) bulk.release();
            device.write(offset, value, size);
          },
        };

  dma1.onMisuse = (kind, n) => strict.report('peripheral-misuse', `DMA1 channel ${n}`, misuseText(kind));
  for (const u of [usart1, usart2]) {
    u.onMisuse = (kind) => strict.report('peripheral-misuse', u.name, misuseText(kind));
    u.onConfigError = (what) => strict.report('usart-config', u.name, what);
  }
  iwdg.onMisuse = (kind) => strict.report('peripheral-misuse', 'IWDG', misuseText(kind));
  dmamux1.onInvalidRequest = (x, id) =>
    strict.report(
      'dmamux-request',
      `DMAMUX1 channel ${x}`,
      `${missingRequestText(id)}, so DMA1 channel ${x + 1} gets no request`,
    );
  // A channel enabled with no request routed to it never moves a byte; the
  // usual cause is a DMAMUX channel index off by one (RM0444 §11.3.2:
  // DMAMUX channel x drives DMA1 channel x + 1).
  dma1.onEnable = (n, ccr) => {
    if (ccr & (1 << 14) || dmamux1.selected(n - 1) !== 0) return; // MEM2MEM needs no request
    const elsewhere: string[] = [];
    for (let x = 0; x < DMAMUX_CHANNELS; x++) {
      const id = dmamux1.selected(x);
      if (x !== n - 1 && id !== 0) elsewhere.push(`C${x}CR selects request ${id} for DMA1 channel ${x + 1}`);
    }
    strict.report(
      'dma-request-unrouted',
      `DMA1 channel ${n}`,
      `enabled while DMAMUX1 C${n - 1}CR selects no request (DMAREQ_ID = 0): no peripheral can trigger it, so it never moves data (DMAMUX channel x drives DMA1 channel x + 1, RM0444 §11.3.2)${elsewhere.length ? `; ${elsewhere.join(', ')}` : ''}`,
    );
  };
  flashInterface.onDebugDisabled = (acr) =>
    strict.report(
      'debug-disabled',
      'FLASH',
      `ACR written ${hex32(acr)} with DBG_SWEN = 0: the debugger loses access to the chip (no SWD: st-flash, OpenOCD and GDB cannot connect) until DBG_SWEN is set again or a reset; DBG_SWEN is 1 out of reset, so keep it set (RM0444 §3.7.1)`,
    );

  // Too few flash wait states for HCLK: silicon fetches garbage; here every
  // fetch from flash fails, so the core locks up saying why.
  const pwr = storage.find((b) => b.name === 'PWR')!;
  const checkFlashLatency = () => {
    const hz = rcc.hclkHz;
    const range = ((pwr.read(0, 4) >>> 9) & 3) === 2 ? 2 : 1; // PWR_CR1.VOS: 01 range 1, 10 range 2
    const needed = flashWaitStates(hz, range);
    const have = flashInterface.latency;
    const mhz = `HCLK ${hz / 1e6} MHz`;
    const why =
      needed === undefined
        ? `${mhz} is above voltage range ${range}'s ${range === 2 ? 16 : 64} MHz maximum (PWR_CR1.VOS, RM0444 §3.3.4)`
        : have > 2
          ? `FLASH_ACR.LATENCY = ${have} is reserved (RM0444 §3.7.1: 0, 1 or 2 wait states), so the flash timing is undefined`
          : have < needed
            ? `FLASH_ACR.LATENCY = ${have} wait states at ${mhz}, which needs ${needed} in range ${range} (RM0444 §3.3.4)`
            : null;
    if (why) strict.report('flash-latency', 'FLASH', `${why}: instruction fetches from flash fail`);
    cpu.setFetchFault?.(FLASH_BASE, FLASH_SIZE, why);
    cpu.setFetchFault?.(0, FLASH_SIZE, why);
  };
  flashInterface.onLatencyChange = checkFlashLatency;
  // Flash reads take LATENCY wait states; 64-bit lines (RM0444 §3.3.1), the
  // prefetch buffer and the instruction cache hide them (§3.3.4, §3.3.5).
  const timeFlashFetches = () =>
    cpu.setFetchTiming?.({
      base: FLASH_BASE,
      size: FLASH_SIZE,
      waitStates: flashInterface.latency,
      lineBytes: 8,
      prefetch: flashInterface.prefetch,
      cacheLines: flashInterface.instructionCache ? FLASH_CACHE_LINES : 0,
    });
  flashInterface.onFetchTimingChange = timeFlashFetches;
  timeFlashFetches();

  bus.mapDevice(SYSTEM_MEMORY_BASE, SYSTEM_MEMORY_SIZE, systemMemory);
  const gate = clockGates(rcc, strict);
  // Checked first, then gated: an unclocked write is reported as such only.
  const clocked = (device: MemoryMappedDevice, g: ClockGate, base: number, svdName: string) =>
    gate(checkedWrites(device, svdName, strict), g, base);
  bus.mapDevice(RCC_BASE, BLOCK, checkedWrites(rcc, 'RCC', strict));
  bus.mapDevice(FLASH_BASE_REGS, BLOCK, checkedWrites(flashInterface, 'FLASH', strict));
  bus.mapDevice(GPIO_BASES.A, BLOCK, pinGuarded(clocked(gpioa, 'GPIOA', GPIO_BASES.A, 'GPIOA')));
  bus.mapDevice(GPIO_BASES.B, BLOCK, clocked(gpiob, 'GPIOB', GPIO_BASES.B, 'GPIOB'));
  bus.mapDevice(GPIO_BASES.C, BLOCK, pinGuarded(clocked(gpioc, 'GPIOC', GPIO_BASES.C, 'GPIOC')));
  bus.mapDevice(USART1_BASE, BLOCK, clocked(usart1, 'USART1', USART1_BASE, 'USART1'));
  bus.mapDevice(USART2_BASE, BLOCK, clocked(usart2, 'USART2', USART2_BASE, 'USART2'));
  bus.mapDevice(DMA1_BASE, BLOCK, clocked(dma1, 'DMA1', DMA1_BASE, 'DMA1'));
  bus.mapDevice(DMAMUX1_BASE, BLOCK, clocked(dmamux1, 'DMA1', DMAMUX1_BASE, 'DMAMUX1'));
  bus.mapDevice(SYSCFG_BASE, BLOCK, clocked(syscfg, 'SYSCFG', SYSCFG_BASE, 'SYSCFG'));
  // DBG_IDCODE answers whatever DBGEN is (a debugger reads it to identify
  // the chip before anything runs); CR and the freeze registers are behind
  // RCC_APBENR1.DBGEN like any APB peripheral (ST's HAL enables that clock
  // before setting a freeze bit): without it DBG_IWDG_STOP does not take.
  const dbgClocked = gate(dbgmcu, 'DBG', DBGMCU_BASE);
  bus.mapDevice(DBGMCU_BASE, BLOCK, {
    name: dbgmcu.name,
    read: (offset, size) => ((offset & ~3) === DBGMCU.IDCODE ? dbgmcu : dbgClocked).read(offset, size),
    peek: (offset, size) => peekDevice((offset & ~3) === DBGMCU.IDCODE ? dbgmcu : dbgClocked, offset, size),
    write: (offset, value, size) => dbgClocked.write(offset, value, size),
  });
  bus.mapDevice(IWDG_BASE, BLOCK, checkedWrites(iwdg, 'IWDG', strict));
  const pwrClocked = clocked(pwr, 'PWR', pwr.base, 'PWR');
  bus.mapDevice(pwr.base, BLOCK, {
    name: pwr.name,
    read: (offset, size) => pwrClocked.read(offset, size),
    peek: (offset, size) => peekDevice(pwrClocked, offset, size),
    write(offset, value, size) {
      pwrClocked.write(offset, value, size);
      if ((offset & ~3) === 0) checkFlashLatency(); // CR1.VOS: the wait states needed depend on the range
    },
  });
  for (const s of storage) if (s !== pwr) bus.mapDevice(s.base, BLOCK, s);

  const gates: Partial<Record<ClockGate, { setClockEnabled(on: boolean): void }[]>> = {
    DMA1: [dma1, dmamux1],
    USART1: [usart1],
    USART2: [usart2],
    GPIOA: [gpioa],
    GPIOB: [gpiob],
    GPIOC: [gpioc],
    SYSCFG: [syscfg],
  };
  rcc.onGateChange((gate, on) => {
    for (const p of gates[gate] ?? []) p.setClockEnabled(on);
  });
  const resettable: Partial<Record<ClockGate, { reset(): void }[]>> = {
    DMA1: [dma1, dmamux1],
    USART1: [usart1],
    USART2: [usart2],
    GPIOA: [gpioa],
    GPIOB: [gpiob],
    GPIOC: [gpioc],
    SYSCFG: [syscfg],
  };
  rcc.onPeripheralReset((gate) => {
    for (const p of resettable[gate] ?? []) p.reset();
  });
  rcc.onHclkChange((hz) => {
    cpu.frequencyHz = hz;
    dma1.setHclkHz(hz);
    checkFlashLatency();
  });
  rcc.onClocksChange((tree) => {
    usart1.setKernelClockHz(tree.usart1KernelHz);
    usart2.setKernelClockHz(tree.usart2KernelHz);
  });
  cpu.frequencyHz = rcc.hclkHz;

  const chip: Stm32g071<CpuCore> = {
    clock,
    bus,
    cpu,
    flash,
    sram,
    rcc,
    flashInterface,
    gpioa,
    gpiob,
    gpioc,
    usart1,
    usart2,
    dma1,
    dmamux1,
    syscfg,
    dbgmcu,
    iwdg,
    systemMemory,
    strict,
    sramSeed,
    codeName: undefined,
    peripheralMode,
    settlePeripherals: () => bulk?.sync(),
    bulk,
    loadFlash(image, offset = 0) {
      if (offset < 0 || offset + image.length > FLASH_SIZE)
        throw new RangeError('image does not fit in flash');
      flash.set(image, offset);
    },
    reset(cause = 'pin') {
      // Peripherals first: the RCC's reset tells everyone the clocks and gates are back to reset.
      rcc.reset(cause === 'power' ? 'power' : 'system');
      if (cause === 'power') powerUpSram();
      if (cause !== 'power') rcc.noteReset(cause);
      for (const p of [
        flashInterface,
        gpioa,
        gpiob,
        gpioc,
        usart1,
        usart2,
        dma1,
        dmamux1,
        syscfg,
        dbgmcu,
        iwdg,
        ...storage,
      ])
        p.reset();
      cpu.frequencyHz = rcc.hclkHz;
      checkFlashLatency();
      timeFlashFetches();
      cpu.reset();
    },
  };
  // AIRCR.SYSRESETREQ resets the whole chip, not just the core.
  cpu.onResetRequest = () => chip.reset('software');
  return chip;
}
