/**
 * The parts of USB CDC-ACM (USB Class Definitions for Communications
 * Devices 1.2, PSTN subclass 1.2) a host needs to drive a virtual COM port
 * itself: find the two interfaces and encode the two class requests.
 */

export const USB_CLASS_CDC = 0x02;
export const USB_SUBCLASS_ACM = 0x02;
export const USB_CLASS_CDC_DATA = 0x0a;

/** PSTN 1.2 §6.3: class-specific requests on the communication interface. */
export const CdcRequest = { SET_LINE_CODING: 0x20, SET_CONTROL_LINE_STATE: 0x22 } as const;

/** SET_CONTROL_LINE_STATE wValue bits: DTR tells the device a terminal is present, RTS activates carrier. */
export const ControlLine = { DTR: 1 << 0, RTS: 1 << 1 } as const;

export interface LineCoding {
  baudRate: number;
  /** 1 or 2 (1.5 is not offered: nobody uses it with a Nucleo). */
  stopBits: 1 | 2;
  parity: 'none' | 'odd' | 'even';
  dataBits: 7 | 8;
}

/** The 7-byte line coding structure (PSTN 1.2 Table 17). */
export function encodeLineCoding(coding: LineCoding): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(7);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, coding.baudRate, true);
  view.setUint8(4, coding.stopBits === 1 ? 0 : 2);
  view.setUint8(5, { none: 0, odd: 1, even: 2 }[coding.parity]);
  view.setUint8(6, coding.dataBits);
  return bytes;
}

export interface CdcInterfaces {
  /** Takes the class requests (and, on some devices, a notification endpoint). */
  communication: USBInterface;
  /** Carries the bytes on a bulk IN and a bulk OUT endpoint. */
  data: USBInterface;
  bulkIn: USBEndpoint;
  bulkOut: USBEndpoint;
}

/**
 * Finds the ACM communication interface and the data interface after it.
 * The ST-LINK is a composite device (debug, mass storage, VCP), so the
 * interfaces are looked up by class rather than assumed at fixed numbers.
 */
export function findCdcInterfaces(configuration: USBConfiguration): CdcInterfaces | undefined {
  const interfaces = configuration.interfaces;
  const classOf = (i: USBInterface) => i.alternate.interfaceClass;
  const communication = interfaces.find(
    (i) => classOf(i) === USB_CLASS_CDC && i.alternate.interfaceSubclass === USB_SUBCLASS_ACM,
  );
  const dataCandidates = interfaces.filter((i) => classOf(i) === USB_CLASS_CDC_DATA);
  // The union descriptor usually names the data interface as the next one.
  const data =
    dataCandidates.find((i) => communication && i.interfaceNumber === communication.interfaceNumber + 1) ??
    dataCandidates[0];
  if (!communication || !data) return undefined;
  const bulkIn = data.alternate.endpoints.find((e) => e.type === 'bulk' && e.direction === 'in');
  const bulkOut = data.alternate.endpoints.find((e) => e.type === 'bulk' && e.direction === 'out');
  if (!bulkIn || !bulkOut) return undefined;
  return { communication, data, bulkIn, bulkOut };
}
