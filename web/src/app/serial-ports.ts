/**
 * Ports the user granted this site before, and their comings and goings:
 * `navigator.serial.getPorts()` lists them without a chooser, and the
 * `connect` and `disconnect` events on `navigator.serial` follow a board
 * being unplugged and plugged back in.
 */
import { ST_USB_VENDOR_ID, webSerialSupported } from '../transports/webserial.ts';

/** Granted ST-LINK ports (other granted devices are not boards of ours). */
export async function grantedBoardPorts(nav: Navigator = navigator): Promise<SerialPort[]> {
  if (!webSerialSupported(nav) || typeof nav.serial.getPorts !== 'function') return [];
  try {
    const ports = await nav.serial.getPorts();
    return ports.filter((p) => p.getInfo().usbVendorId === ST_USB_VENDOR_ID);
  } catch {
    return []; // permissions policy or a browser quirk: there is just nothing to offer
  }
}

/** Calls `onConnect` with each ST-LINK port plugged in (that the site may use); returns the unsubscribe. */
export function onBoardPlugged(
  onConnect: (port: SerialPort) => void,
  nav: Navigator = navigator,
): () => void {
  if (!webSerialSupported(nav)) return () => {};
  const listener = (event: Event) => {
    // The event's target is the port (it bubbles to navigator.serial); where
    // a browser gives none, the granted ports say which one came.
    const target = event.target as Partial<SerialPort> | null;
    if (target && typeof target.getInfo === 'function') {
      if (target.getInfo().usbVendorId === ST_USB_VENDOR_ID) onConnect(target as SerialPort);
      return;
    }
    void grantedBoardPorts(nav).then(([port]) => port && onConnect(port));
  };
  nav.serial.addEventListener('connect', listener);
  return () => nav.serial.removeEventListener('connect', listener);
}

export function describeSerialPort(port: SerialPort): string {
  const info = port.getInfo();
  const hex = (n: number | undefined) => (n ?? 0).toString(16).padStart(4, '0');
  return info.usbVendorId === undefined
    ? 'serial port'
    : `USB serial ${hex(info.usbVendorId)}:${hex(info.usbProductId)}`;
}
