export {
  DeviceResetError,
  LinkClosedError,
  LinkProtocolError,
  LinkTimeoutError,
  LinkUsageError,
  type ResetEvidence,
  SessionEndedError,
} from './errors.ts';
export { type CounterVerdict, EventTracker, type MarkFloor } from './event-tracker.ts';
export {
  Link,
  type LinkListener,
  type LinkNotification,
  type LinkOptions,
  type LinkState,
  type LinkStats,
  type RequestOptions,
  type SequencedCommand,
  type SequencedRequest,
} from './link.ts';
export { type RateSwitchable, type RateSwitchOutcome, switchLinkRate } from './rate-switch.ts';
