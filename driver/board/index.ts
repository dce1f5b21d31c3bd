export { ArenaAllocator, ArenaExhaustedError, type ArenaRange } from './arena-allocator.ts';
export {
  BatchBuilder,
  type BatchFailure,
  type BatchResult,
  type ChannelStatus,
  parseChannelStatus,
  splitBatch,
} from './batch.ts';
export {
  Board,
  type BoardListener,
  type BoardOptions,
  type LinkRateChoice,
  type LinkRateInUse,
  type OperationOptions,
} from './board.ts';
export { BufferBusyError, BufferFreedError, ForeignBufferError, MovedError } from './buffer-errors.ts';
export { DmaBuffer } from './dma-buffer.ts';
export {
  AlreadyTakenError,
  BoardRecoveringError,
  BoardRefusedError,
  BusyError,
  DmaStartRefusedError,
  InvalidHelloError,
  LinkRateError,
  OutOfArenaError,
  PollTimeoutError,
  ProtocolMismatchError,
  RegisterNotAllowedError,
  RevokedError,
  TransportInUseError,
  UnsupportedProtocolError,
  ValueNotAllowedError,
  WrongChipError,
} from './errors.ts';
export type { BoardNotification, BootEvent, DmaEvent, UsartEvent } from './events.ts';
export { type Handle, HandleRegistry, type RevokeListener } from './handles.ts';
export { helloSchema, validateHello } from './hello.ts';
export type { ArenaUsage, RegionSnapshot, RegionState } from './ledger.ts';
export { LedgerError, RawWriteRefusedError } from './ledger-errors.ts';
export type { RawAccess } from './raw-access.ts';
export { refusalToError } from './refusals.ts';
