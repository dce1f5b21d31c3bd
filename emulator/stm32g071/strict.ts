/**
 * The strict board's reports: what firmware did that silicon would reject
 * or silently ignore. The chip behaves as silicon does (an unclocked
 * peripheral reads 0, an unrouted TX pin leaves the line high, a PLL out of
 * its limits never locks, too few flash wait states make fetches fail); a
 * report says why, in the reference manual's terms, so a firmware that
 * works on the virtual board has a reason to work on the real one.
 */

export type StrictRule =
  /** A peripheral read or written while its RCC clock enable is off. */
  | 'unclocked-access'
  /** A USART signal whose pin is not in alternate-function mode with the right AF number. */
  | 'pin-not-routed'
  /** HCLK above what FLASH_ACR.LATENCY allows (RM0444 §3.3.4). */
  | 'flash-latency'
  /** PLL input, VCO or output out of RM0444's limits, or a reserved divider. */
  | 'pll-config'
  /** A DMAMUX request ID the STM32G071 does not have. */
  | 'dmamux-request'
  /** A write that sets reserved bits or changes read-only ones. */
  | 'reserved-bits'
  /**
   * A USART given a value RM0444 forbids, reserves or leaves undefined:
   * USARTDIV below 16 or BRR[3] set with OVER8 = 1, at UE = 1 (§33.5.7);
   * M1:M0 = 11 (USART_CR1); PRESCALER 1100 to 1111 (USART_PRESC).
   */
  | 'usart-config'
  /** A USART and the far end of its wire at rates beyond the receiver's tolerance (RM0444 §33.5.8). */
  | 'baud-mismatch'
  /** A misuse a peripheral model detected (see its `misuse` map). */
  | 'peripheral-misuse'
  /** A DMA channel enabled with no request routed to it by DMAMUX (RM0444 §11.3.2). */
  | 'dma-request-unrouted'
  /** FLASH_ACR.DBG_SWEN cleared: the debugger cannot reach the chip (RM0444 §3.7.1). */
  | 'debug-disabled'
  /** The independent watchdog reset the chip: where the core was, and why it may not have been fed. */
  | 'watchdog-reset';

export interface StrictReport {
  readonly rule: StrictRule;
  /** The peripheral or pin, as RM0444 names it: 'GPIOA', 'USART2 TX (PA2)', 'RCC'. */
  readonly peripheral: string;
  /** What happened and what the chip does about it. */
  readonly message: string;
  /** Virtual time of the first occurrence, ns. */
  readonly timeNs: number;
  /** Times the same report was made. */
  count: number;
}

export class StrictMonitor {
  private readonly byKey = new Map<string, StrictReport>();
  private readonly listeners = new Set<(report: StrictReport) => void>();

  constructor(private readonly now: () => number) {}

  /** Every distinct report since the last `clear()`, first occurrence first. */
  get reports(): readonly StrictReport[] {
    return [...this.byKey.values()];
  }

  /** Records a report; the same rule, peripheral and message again only counts. */
  report(rule: StrictRule, peripheral: string, message: string): void {
    const key = `${rule}\u0000${peripheral}\u0000${message}`;
    const seen = this.byKey.get(key);
    if (seen) {
      seen.count++;
      return;
    }
    const report: StrictReport = { rule, peripheral, message, timeNs: this.now(), count: 1 };
    this.byKey.set(key, report);
    for (const l of this.listeners) l(report);
  }

  /** Called at each new distinct report. Returns an unsubscribe function. */
  onReport(listener: (report: StrictReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clear(): void {
    this.byKey.clear();
  }
}

/** One line per report, for an error message or a log. */
export function formatStrictReports(reports: readonly StrictReport[]): string {
  return reports
    .map((r) => `[${r.rule}] ${r.peripheral}: ${r.message}${r.count > 1 ? ` (${r.count} times)` : ''}`)
    .join('\n');
}

/** What each misuse a peripheral model counts means, in RM0444's terms. */
const MISUSE_TEXT: Readonly<Record<string, string>> = {
  'ccr-write-while-enabled':
    'DMA_CCRx written with EN = 1: its fields other than EN are read-only while the channel is enabled (RM0444 §10.6.3); the write is ignored',
  'cndtr-write-while-enabled': 'DMA_CNDTRx written while the channel is enabled: ignored (RM0444 §10.6.4)',
  'cpar-write-while-enabled': 'DMA_CPARx written while the channel is enabled: ignored (RM0444 §10.6.5)',
  'cmar-write-while-enabled': 'DMA_CMARx written while the channel is enabled: ignored (RM0444 §10.6.6)',
  'enable-while-teif': 'EN set while TEIFx is still set: the channel does not start (RM0444 §10.4.7)',
  'enable-with-cndtr-zero':
    'EN set with DMA_CNDTRx = 0: the channel is enabled but serves no request, so nothing moves (RM0444 §10.6.4)',
  'config-while-enabled':
    'a field that can only be written while UE = 0 was changed with the USART enabled (RM0444 §33.8)',
  'tdr-overwrite': 'TDR written while TXE = 0: the character waiting in TDR is lost',
  'write-while-locked': 'IWDG_PR, RLR or WINR written without the 0x5555 key: ignored (RM0444 §24.3.5)',
  'write-while-updating':
    'IWDG_PR, RLR or WINR written while its previous value was still being updated (SR)',
  'pllcfgr-while-pll-on':
    'RCC_PLLCFGR changed while the PLL is on: only the output enables can be written then (RM0444 §5.4.4)',
};

export function misuseText(kind: string): string {
  return MISUSE_TEXT[kind] ?? kind;
}
