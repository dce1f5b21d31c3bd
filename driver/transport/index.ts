export { BytePipe } from './byte-pipe.ts';
export { DriverError, TransportClosedError } from './errors.ts';
export {
  type CutMode,
  type Direction,
  type FaultCounters,
  FaultInjector,
  type FaultInjectorOptions,
  type FaultRates,
} from './fault-injector.ts';
export { createMemoryTransportPair, type MemoryTransportPair } from './memory-pair.ts';
export { mulberry32, type Prng } from './prng.ts';
export { realTimers, type TimerId, type Timers } from './timers.ts';
export type { Transport, TransportInfo } from './transport.ts';
