/** What the Node room offers other code: transports that need Node. */
export * from './transport/index.ts';
export { DEFAULT_FIRMWARE, FirmwareMissingError, loadVirtualBoard } from './virtual/load-board.ts';
export type { ServableBoard, ServablePeer } from './virtual/servable-board.ts';
export { VirtualServer, type VirtualServerAddresses, type VirtualServerOptions } from './virtual-server.ts';
