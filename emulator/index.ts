/**
 * The virtual Nucleo-G071RB: public API. `VirtualBoard` runs a firmware
 * image with its USART2 offered as a host port (a Transport) and USART1
 * wired to a virtual peer or looped back; `createStm32g071` builds the bare
 * chip for tests that drive it themselves.
 */
export {
  BRIDGE_FIRMWARE_URL,
  BRIDGE_IMAGES_URL,
  BridgeFirmwareError,
  readBridgeFirmware,
} from './host/bridge-firmware.ts';
export type { HostPort } from './host/host-port.ts';
export type { InjectedError, ReceivedByte, SerialPeer, Usart1Wiring } from './host/serial-peer.ts';
export {
  type BoardHalt,
  onVirtualBoardCreated,
  VirtualBoard,
  type VirtualBoardOptions,
} from './host/virtual-board.ts';
export {
  type CpuCore,
  createStm32g071,
  FLASH_BASE,
  FLASH_SIZE,
  IRQ,
  SRAM_BASE,
  SRAM_SIZE,
  type Stm32g071,
  type Stm32g071Options,
  UNMODELLED_BLOCKS,
} from './stm32g071/chip.ts';
export type { DmaMisuse } from './stm32g071/dma.ts';
export { DMAREQ } from './stm32g071/dmamux.ts';
export type { ClockTree } from './stm32g071/rcc.ts';
export { formatStrictReports, type StrictReport, type StrictRule } from './stm32g071/strict.ts';
export type { ReceiveOptions, UsartMisuse } from './stm32g071/usart.ts';
