import { describe, expect, it } from 'vitest';
import { encodeLineCoding, findCdcInterfaces } from './cdc-acm.ts';

describe('CDC-ACM line coding', () => {
  it('encodes 115200 8N1 as PSTN 1.2 Table 17 lays it out', () => {
    expect(
      Array.from(encodeLineCoding({ baudRate: 115_200, stopBits: 1, parity: 'none', dataBits: 8 })),
    ).toEqual([0x00, 0xc2, 0x01, 0x00, 0, 0, 8]);
  });

  it('encodes two stop bits and even parity', () => {
    const bytes = encodeLineCoding({ baudRate: 9600, stopBits: 2, parity: 'even', dataBits: 7 });
    expect(Array.from(bytes.subarray(4))).toEqual([2, 2, 7]);
  });
});

/** The interface layout of an ST-LINK V2-1: debug (vendor class), mass storage, then the VCP pair. */
function stLinkConfiguration(): USBConfiguration {
  const endpoint = (endpointNumber: number, direction: USBDirection, type: USBEndpointType) =>
    ({ endpointNumber, direction, type, packetSize: 64 }) as USBEndpoint;
  const iface = (
    interfaceNumber: number,
    interfaceClass: number,
    interfaceSubclass: number,
    endpoints: USBEndpoint[],
  ) =>
    ({
      interfaceNumber,
      alternate: { interfaceClass, interfaceSubclass, endpoints },
    }) as unknown as USBInterface; // only the fields findCdcInterfaces reads
  return {
    interfaces: [
      iface(0, 0xff, 0xff, [endpoint(1, 'in', 'bulk'), endpoint(1, 'out', 'bulk')]),
      iface(1, 0x08, 0x06, [endpoint(2, 'in', 'bulk'), endpoint(2, 'out', 'bulk')]),
      iface(2, 0x02, 0x02, [endpoint(4, 'in', 'interrupt')]),
      iface(3, 0x0a, 0x00, [endpoint(5, 'in', 'bulk'), endpoint(3, 'out', 'bulk')]),
    ],
  } as unknown as USBConfiguration;
}

describe('findCdcInterfaces', () => {
  it('finds the VCP pair of a composite ST-LINK by class, not by position', () => {
    const cdc = findCdcInterfaces(stLinkConfiguration());
    expect(cdc?.communication.interfaceNumber).toBe(2);
    expect(cdc?.data.interfaceNumber).toBe(3);
    expect(cdc?.bulkIn.endpointNumber).toBe(5);
    expect(cdc?.bulkOut.endpointNumber).toBe(3);
  });

  it('gives up on a device without a CDC data interface', () => {
    const config = stLinkConfiguration();
    const withoutData = { interfaces: config.interfaces.slice(0, 3) } as unknown as USBConfiguration;
    expect(findCdcInterfaces(withoutData)).toBeUndefined();
  });
});
