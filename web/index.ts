/// <reference types="w3c-web-serial" preserve="true" />
/// <reference types="w3c-web-usb" preserve="true" />
/**
 * The browser side of the bridge: transports a page can hand to the
 * driver, and the virtual board in a Web Worker.
 */
export {
  NoDeviceChosenError,
  TransportOpenError,
  TransportUnsupportedError,
} from './src/transports/errors.ts';
export { loadBundledFirmware } from './src/transports/firmware.ts';
export {
  type PeerControl,
  type VirtualBoardOptions,
  VirtualBoardTransport,
} from './src/transports/virtual-board.ts';
export {
  openWebSerial,
  requestWebSerialPort,
  type WebSerialOptions,
  WebSerialTransport,
  webSerialSupported,
} from './src/transports/webserial.ts';
export {
  openWebUsb,
  requestUsbDevice,
  type WebUsbOptions,
  WebUsbTransport,
  webUsbSupported,
} from './src/transports/webusb.ts';
