/** What the Node room offers other code: transports that need Node. */

export { FIRMWARE_DIR, packageVersion } from './package/package-root.ts';
export {
  borrowed,
  type LentHalves,
  type Listening,
  LoopbackPeer,
  type PeerReceived,
  PeerTimeoutError,
  SerialportPeer,
  type UsartPeer,
  VirtualPeer,
} from './peers/index.ts';
export * from './transport/index.ts';
export {
  DEFAULT_FIRMWARE,
  FirmwareFormatError,
  FirmwareMissingError,
  type LoadBoardOptions,
  loadVirtualBoard,
  openVirtualBoard,
  type VirtualBoardPort,
} from './virtual/load-board.ts';
export type { ServableBoard, ServablePeer } from './virtual/servable-board.ts';
export { VirtualServer, type VirtualServerAddresses, type VirtualServerOptions } from './virtual-server.ts';
