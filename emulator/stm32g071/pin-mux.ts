/**
 * The pin multiplexer between the GPIO ports and the USARTs (RM0444 §7.3.2
 * "I/O pin alternate function multiplexer and mapping"): a USART's TX
 * drives its pin, and the pin reaches its RX, only while the pin is in
 * alternate-function mode (MODER = 10) with the AF number of that signal
 * (datasheet DS12232, "Alternate functions": AF1 for USART1 on PC4/PC5 and
 * USART2 on PA2/PA3). Otherwise the wire idles high and the strict board
 * reports why. Neither the GPIO nor the USART model knows of the other.
 */
import type { Gpio } from './gpio.ts';
import type { StrictMonitor } from './strict.ts';
import type { UsartPins } from './usart.ts';

export interface PinSignal {
  /** 'USART2 TX' */
  readonly signal: string;
  readonly gpio: Gpio;
  readonly pin: number;
  readonly af: number;
}

const MODE_NAMES = ['input', 'output', 'alternate function', 'analog'] as const;

export class PinMux {
  constructor(
    private readonly strict: StrictMonitor,
    /** Whether a GPIO port's clock is on, to say why its pins kept their reset mode. */
    private readonly portClocked: (gpio: Gpio) => boolean,
  ) {}

  /** Whether `s` is routed to its pin now; reports why not. */
  routed(s: PinSignal): boolean {
    const mode = s.gpio.mode(s.pin);
    const af = s.gpio.alternate(s.pin);
    if (mode === 2 && af === s.af) return true;
    const pinName = `P${s.gpio.port}${s.pin}`;
    const why =
      mode !== 2
        ? `is in ${MODE_NAMES[mode]} mode (MODER${s.pin} = ${mode.toString(2).padStart(2, '0')}), not alternate function`
        : `selects AF${af} (AFR), not AF${s.af}`;
    const clock = this.portClocked(s.gpio)
      ? ''
      : ` (GPIO${s.gpio.port}'s clock is off: RCC_IOPENR.GPIO${s.gpio.port}EN = 0, so its registers ignored every write)`;
    this.strict.report(
      'pin-not-routed',
      `${s.signal} (${pinName})`,
      `${pinName} ${why}${clock}: ${s.signal} does not reach the pin, the line stays idle (high)`,
    );
    return false;
  }

  /** The pins of one USART, for the USART model. */
  usartPins(tx: PinSignal, rx: PinSignal): UsartPins {
    return {
      txConnected: () => this.routed(tx),
      rxConnected: () => this.routed(rx),
      txRouted: () => tx.gpio.mode(tx.pin) === 2 && tx.gpio.alternate(tx.pin) === tx.af,
    };
  }
}
