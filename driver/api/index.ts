export type { ChannelOptions, DataSize, Priority } from './channel-engine.ts';
export { CircularReception } from './circular-reception.ts';
export {
  AlignmentError,
  ChannelBusyError,
  DmaTransferError,
  OverrunError,
  type Recovered,
  SerialError,
  type SerialErrorKind,
  SerialHalfConstructionError,
  StreamAbortedError,
  StreamClosedError,
  TransferAbortedError,
  TransferInDoubtError,
  TransferTimeoutError,
} from './errors.ts';
export { Serial1, type SerialOwner, SerialRx, SerialTx, type TakeSerialOptions } from './serial1.ts';
export { type CloseOptions, StreamWriter, type StreamWriterOptions } from './stream-writer.ts';
export { type FinishedTransfer, Transfer, type TransferResult, type WaitOptions } from './transfer.ts';
