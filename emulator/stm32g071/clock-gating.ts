/**
 * A peripheral's register interface behind its RCC clock enable. RM0444
 * §5.4.13–§5.4.15 (RCC_IOPENR, RCC_AHBENR, RCC_APBENRx) only say that the
 * registers of an unclocked peripheral cannot be accessed; silicon reads
 * them as 0 and drops writes, without a bus error, and that is what this
 * does. The strict board reports every such access: on the chip it is a
 * firmware defect that fails silently.
 */
import { type AccessSize, type MemoryMappedDevice, peekDevice } from '../core/bus.ts';
import type { ClockGate, Rcc } from './rcc.ts';
import type { StrictMonitor } from './strict.ts';

const ENABLE_BITS: Readonly<Record<ClockGate, string>> = {
  GPIOA: 'RCC_IOPENR.GPIOAEN',
  GPIOB: 'RCC_IOPENR.GPIOBEN',
  GPIOC: 'RCC_IOPENR.GPIOCEN',
  DMA1: 'RCC_AHBENR.DMA1EN',
  USART2: 'RCC_APBENR1.USART2EN',
  DBG: 'RCC_APBENR1.DBGEN',
  PWR: 'RCC_APBENR1.PWREN',
  SYSCFG: 'RCC_APBENR2.SYSCFGEN',
  USART1: 'RCC_APBENR2.USART1EN',
};

const hex = (n: number) => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

/** Wraps devices so they answer only while their clock is on. */
export function clockGates(
  rcc: Rcc,
  strict: StrictMonitor,
): (device: MemoryMappedDevice, gate: ClockGate, base: number) => MemoryMappedDevice {
  // Kept current from the RCC's change notices: this is on every access's path.
  const on = new Map<ClockGate, boolean>();
  const isOn = (gate: ClockGate) => {
    const known = on.get(gate);
    if (known !== undefined) return known;
    const now = rcc.isEnabled(gate);
    on.set(gate, now);
    return now;
  };
  rcc.onGateChange((gate, enabled) => on.set(gate, enabled));
  const refuse = (device: MemoryMappedDevice, gate: ClockGate, address: number, what: string) =>
    strict.report(
      'unclocked-access',
      device.name,
      `${what} at ${hex(address)} while ${ENABLE_BITS[gate]} = 0: an unclocked peripheral reads 0 and ignores writes`,
    );
  return (device, gate, base) => ({
    name: device.name,
    read(offset: number, size: AccessSize): number {
      if (isOn(gate)) return device.read(offset, size);
      refuse(device, gate, base + offset, 'read');
      return 0;
    },
    // A debugger's read: what the core would read, and no report.
    peek: (offset: number, size: AccessSize): number => (isOn(gate) ? peekDevice(device, offset, size) : 0),
    write(offset: number, value: number, size: AccessSize): void {
      if (isOn(gate)) device.write(offset, value, size);
      else refuse(device, gate, base + offset, 'write');
    },
  });
}
