/**
 * WebUSB CDC-ACM as a driver Transport, for browsers that have WebUSB but
 * no WebSerial (Chrome on Android). The page does the serial driver's job:
 * it claims the CDC interfaces, sets the line coding and the control lines
 * with class requests, and moves bytes on the bulk endpoints.
 *
 * On desktops the operating system's CDC driver already owns these
 * interfaces, so claiming fails there; WebSerial is the way on desktops.
 */
import { TransportClosedError } from '../../../driver/transport/errors.ts';
import type { Transport, TransportInfo } from '../../../driver/transport/transport.ts';
import { CdcRequest, ControlLine, encodeLineCoding, findCdcInterfaces } from './cdc-acm.ts';
import { NoDeviceChosenError, TransportOpenError, TransportUnsupportedError } from './errors.ts';
import { DEFAULT_BAUD_RATE, ST_USB_VENDOR_ID } from './webserial.ts';

/** Bytes asked for per bulk IN transfer: several full-speed packets, so a burst needs few round trips. */
const READ_SIZE = 4096;

export interface WebUsbOptions {
  baudRate?: number;
  onDisconnect?: () => void;
}

export function webUsbSupported(nav: Navigator = navigator): boolean {
  return 'usb' in nav && nav.usb !== undefined;
}

/** Shows the browser's USB chooser, filtered to ST devices. Needs a user gesture. */
export async function requestUsbDevice(nav: Navigator = navigator): Promise<USBDevice> {
  if (!webUsbSupported(nav)) {
    throw new TransportUnsupportedError(
      'this browser has no WebUSB: use Chrome or Edge, or choose WebSerial or the virtual board',
    );
  }
  try {
    return await nav.usb.requestDevice({ filters: [{ vendorId: ST_USB_VENDOR_ID }] });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'NotFoundError') {
      throw new NoDeviceChosenError('no USB device was chosen', { cause: e });
    }
    throw new TransportOpenError(`the USB chooser failed: ${messageOf(e)}`, { cause: e });
  }
}

/** Opens the device, claims its CDC interfaces and configures the line at 8N1. */
export async function openWebUsb(device: USBDevice, options: WebUsbOptions = {}): Promise<WebUsbTransport> {
  const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE;
  try {
    await device.open();
    if (device.configuration === null) await device.selectConfiguration(1);
  } catch (e) {
    throw new TransportOpenError(`the USB device could not be opened: ${messageOf(e)}`, { cause: e });
  }
  const cdc = device.configuration ? findCdcInterfaces(device.configuration) : undefined;
  if (!cdc) {
    await device.close().catch(() => {});
    throw new TransportOpenError(
      'this USB device has no CDC-ACM serial interface (is it an ST-LINK V2-1 or V3?)',
    );
  }
  try {
    await device.claimInterface(cdc.communication.interfaceNumber);
    await device.claimInterface(cdc.data.interfaceNumber);
  } catch (e) {
    await device.close().catch(() => {});
    throw new TransportOpenError(
      `the serial interface is held by the operating system's driver (${messageOf(e)}); on a desktop use WebSerial instead`,
      { cause: e },
    );
  }
  const index = cdc.communication.interfaceNumber;
  try {
    await device.controlTransferOut(
      { requestType: 'class', recipient: 'interface', request: CdcRequest.SET_LINE_CODING, value: 0, index },
      encodeLineCoding({ baudRate, stopBits: 1, parity: 'none', dataBits: 8 }),
    );
    await device.controlTransferOut({
      requestType: 'class',
      recipient: 'interface',
      request: CdcRequest.SET_CONTROL_LINE_STATE,
      value: ControlLine.DTR | ControlLine.RTS,
      index,
    });
  } catch (e) {
    await device.close().catch(() => {});
    throw new TransportOpenError(`the device refused the line settings: ${messageOf(e)}`, { cause: e });
  }
  return new WebUsbTransport(device, cdc, baudRate, options);
}

export class WebUsbTransport implements Transport {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info: TransportInfo;
  private closing: Promise<void> | undefined;
  private readonly onUsbDisconnect = (event: USBConnectionEvent) => {
    if (event.device === this.device) {
      this.options.onDisconnect?.();
      void this.close();
    }
  };

  constructor(
    readonly device: USBDevice,
    private readonly cdc: NonNullable<ReturnType<typeof findCdcInterfaces>>,
    baudRate: number,
    private readonly options: WebUsbOptions,
  ) {
    this.info = {
      kind: 'webusb',
      description: device.productName ?? 'USB CDC-ACM device',
      baudRate,
    };
    const inEndpoint = cdc.bulkIn.endpointNumber;
    const outEndpoint = cdc.bulkOut.endpointNumber;
    const packetSize = cdc.bulkOut.packetSize;
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        // Loop past empty transfers (zero-length packets) so each pull delivers data.
        for (;;) {
          if (this.closing) {
            controller.close();
            return;
          }
          let result: USBInTransferResult;
          try {
            result = await device.transferIn(inEndpoint, READ_SIZE);
          } catch (e) {
            if (this.closing) controller.close();
            else controller.error(new TransportClosedError(`USB read failed: ${messageOf(e)}`, { cause: e }));
            return;
          }
          if (result.status === 'stall') {
            await device.clearHalt('in', inEndpoint);
            continue;
          }
          const data = result.data;
          // The consumer may have cancelled while the transfer was pending (a disconnect mid-transfer).
          if (data && data.byteLength > 0 && !this.closing) {
            controller.enqueue(
              new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
            );
            return;
          }
        }
      },
      cancel: () => this.close(),
    });
    this.writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        if (this.closing) throw new TransportClosedError('the USB device is closed');
        try {
          await device.transferOut(outEndpoint, copy(chunk));
          // A transfer that ends on a packet boundary needs a zero-length
          // packet, or the device waits for more before passing it on.
          if (chunk.length % packetSize === 0) await device.transferOut(outEndpoint, new Uint8Array(0));
        } catch (e) {
          throw new TransportClosedError(`USB write failed: ${messageOf(e)}`, { cause: e });
        }
      },
      close: () => this.close(),
      abort: () => this.close(),
    });
    navigator.usb.addEventListener('disconnect', this.onUsbDisconnect);
  }

  /** Releasing the interfaces aborts the pending bulk transfers; then the device closes. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    navigator.usb.removeEventListener('disconnect', this.onUsbDisconnect);
    const { device, cdc } = this;
    if (!device.opened) return;
    try {
      await device.controlTransferOut({
        requestType: 'class',
        recipient: 'interface',
        request: CdcRequest.SET_CONTROL_LINE_STATE,
        value: 0,
        index: cdc.communication.interfaceNumber,
      });
    } catch {
      // The device may already be gone; dropping DTR is a courtesy.
    }
    for (const iface of [cdc.data, cdc.communication]) {
      await device.releaseInterface(iface.interfaceNumber).catch(() => {});
    }
    await device.close().catch(() => {});
  }
}

/** transferOut wants a buffer the browser may detach; the caller's chunk stays theirs. */
function copy(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(chunk);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
