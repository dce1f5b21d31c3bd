export {
  describePort,
  findByPath,
  findBySerialNumber,
  listPorts,
  orderPorts,
  type PortLister,
  type PortListing,
  type RawPortInfo,
  ST_VENDOR_ID,
  systemPortLister,
} from './discovery.ts';
export { type DuplexStreams, type DuplexStreamsOptions, streamsFromDuplex } from './duplex-streams.ts';
export * from './errors.ts';
export {
  isTcpSpec,
  type OpenedTransport,
  type OpenTransportOptions,
  openTransport,
} from './open-transport.ts';
export {
  type BackoffOptions,
  ReconnectClosedError,
  ReconnectGaveUpError,
  type ReconnectingEvents,
  type ReconnectingOptions,
  ReconnectingSerialPort,
} from './reconnecting-transport.ts';
export {
  DEFAULT_BAUD_RATE,
  type SerialPortFactory,
  type SerialPortSettings,
  type SerialPortStreamLike,
  SerialportTransport,
  type SerialportTransportOptions,
} from './serialport-transport.ts';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  formatTcpAddress,
  parseTcpAddress,
  type TcpAddress,
  TcpTransport,
  type TcpTransportOptions,
} from './tcp-transport.ts';
export type { Transport, TransportEnd, TransportInfo } from './transport-shape.ts';
