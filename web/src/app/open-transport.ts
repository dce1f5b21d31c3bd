/**
 * Opens the transport the user chose. Each kind surfaces its device going
 * away through `onGone`, so the console can say so instead of waiting for
 * the link to time out.
 */
import type { Transport } from '../../../driver/transport/transport.ts';
import { loadBundledFirmware } from '../transports/firmware.ts';
import { VirtualBoardTransport } from '../transports/virtual-board.ts';
import { openWebSerial, requestWebSerialPort } from '../transports/webserial.ts';
import { openWebUsb, requestUsbDevice } from '../transports/webusb.ts';

export type TransportKind = 'virtual' | 'webserial' | 'webusb';

export const TRANSPORT_LABELS: Readonly<Record<TransportKind, string>> = {
  virtual: 'Virtual board',
  webserial: 'WebSerial',
  webusb: 'WebUSB',
};

export interface TransportHooks {
  /** The device was unplugged or the worker ended. */
  onGone(reason: string): void;
  /** A line error the transport recovered from. */
  onLineError(message: string): void;
}

export type OpenedTransport =
  | { kind: 'virtual'; transport: VirtualBoardTransport }
  | { kind: 'webserial'; transport: Transport; port: SerialPort }
  | { kind: 'webusb'; transport: Transport };

export interface OpenOptions {
  /** A WebSerial port the user granted before (getPorts), opened without the chooser. */
  port?: SerialPort;
}

export async function openTransport(
  kind: TransportKind,
  hooks: TransportHooks,
  options: OpenOptions = {},
): Promise<OpenedTransport> {
  switch (kind) {
    case 'virtual': {
      const firmware = await loadBundledFirmware();
      const transport = await VirtualBoardTransport.start({ firmware, ...virtualLinkCap() });
      transport.onHalt((reason) => hooks.onGone(`the virtual board halted: ${reason}`));
      return { kind, transport };
    }
    case 'webserial': {
      const port = options.port ?? (await requestWebSerialPort());
      const transport = await openWebSerial(port, {
        onDisconnect: () => hooks.onGone('the board was unplugged'),
        onLineError: (e) => hooks.onLineError(`${e.name}: ${e.message}`),
      });
      return { kind, transport, port };
    }
    case 'webusb': {
      const device = await requestUsbDevice();
      const transport = await openWebUsb(device, {
        onDisconnect: () => hooks.onGone('the board was unplugged'),
      });
      return { kind, transport };
    }
  }
}

/** `?link=115200` in the page's address caps the virtual board's host link (same figures on every machine). */
function virtualLinkCap(): { maxLinkBaud?: number } {
  const asked = Number(new URLSearchParams(globalThis.location?.search ?? '').get('link'));
  return Number.isInteger(asked) && asked > 0 ? { maxLinkBaud: asked } : {};
}
