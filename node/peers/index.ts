/** The far end of USART1, however it is wired. */
export { type LentHalves, LoopbackPeer } from './loopback-peer.ts';
export {
  borrowed,
  DEFAULT_LISTEN_TIMEOUT_MS,
  type Listening,
  type ListenOptions,
  type PeerKind,
  type PeerReceived,
  PeerTimeoutError,
  type UsartPeer,
} from './peer.ts';
export { SerialportPeer } from './serialport-peer.ts';
export { VirtualPeer } from './virtual-peer.ts';
