/**
 * An interrupt request line from a peripheral to the interrupt controller.
 * Peripheral interrupts on the STM32 are level signals: the line stays high
 * while an enabled flag is set, and the NVIC latches it as pending.
 */
export interface InterruptLine {
  set(level: boolean): void;
}

/** A line that goes nowhere, for peripherals tested on their own. */
export const unconnectedLine: InterruptLine = { set: () => {} };
