/**
 * What the strict board says when the independent watchdog resets the chip:
 * where the core was, and, when the core was asleep waiting for SysTick to
 * wake it, whether SysTick wakes it often enough to feed the watchdog at all
 * (SYST_CSR.CLKSOURCE = 0 runs SysTick from HCLK/8 on the STM32G0, eight
 * times slower than the processor clock).
 */

/** What the report needs of the core (emulator/core's Cpu has it all; a stand-in may have none). */
export interface CoreSnapshot {
  reg?(n: number): number;
  readonly xpsr?: number;
  readonly isSleeping?: boolean;
  readonly sysTick?: {
    readonly settings: {
      enabled: boolean;
      tickInt: boolean;
      processorClock: boolean;
      reload: number;
      divider: number;
    };
  };
}

const hex = (n: number) => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
const seconds = (ns: number) => `${+(ns / 1e9).toFixed(2)} s`;

/**
 * The report's text. `hclkHz` is the core clock, `periodNs` the watchdog's
 * timeout, `codeName` names the function holding an address when the
 * firmware's symbols are known.
 */
export function watchdogResetText(
  core: CoreSnapshot,
  hclkHz: number,
  periodNs: number,
  codeName?: (address: number) => string | undefined,
): string {
  const parts = [
    `IWDG not reloaded within its ${seconds(periodNs)} timeout: it reset the chip (RCC_CSR.IWDGRSTF)`,
  ];
  if (core.reg) {
    const pc = core.reg(15) >>> 0;
    const name = codeName?.(pc);
    const ipsr = (core.xpsr ?? 0) & 0x3f;
    const mode =
      ipsr === 0
        ? 'in thread mode'
        : `in the handler of exception ${ipsr}${ipsr >= 16 ? ` (IRQ ${ipsr - 16})` : ''}`;
    parts.push(
      `the core was at PC ${hex(pc)}${name ? ` (${name})` : ''}, ${mode}${core.isSleeping ? ', asleep in WFI' : ''}`,
    );
  }
  const tick = core.sysTick?.settings;
  if (tick && core.isSleeping && hclkHz > 0) {
    const wrapNs =
      tick.enabled && tick.tickInt ? ((tick.reload + 1) * tick.divider * 1e9) / hclkHz : Infinity;
    if (wrapNs >= periodNs) {
      const source = tick.processorClock
        ? 'the processor clock'
        : `HCLK/${tick.divider} (SYST_CSR.CLKSOURCE = 0)`;
      parts.push(
        Number.isFinite(wrapNs)
          ? `SysTick runs from ${source} and wraps every ${seconds(wrapNs)}, no sooner than the watchdog expires: a loop that sleeps until SysTick wakes it feeds the watchdog too rarely`
          : 'SysTick raises no interrupt, so nothing wakes a loop that sleeps to feed the watchdog',
      );
    }
  }
  return parts.join('; ');
}
