/**
 * The shape of a chip description: addresses, DMAMUX request ids and
 * register bit fields as plain data. The driver reads these; it never
 * branches on the chip's name, so another chip is a new description.
 */

export type Access = 'read' | 'write' | 'read-write';

export interface FieldDescription {
  readonly name: string;
  /** Bit offset of the field's least significant bit. */
  readonly offset: number;
  readonly width: number;
  readonly description: string;
  /** Names for some values of the field, e.g. MSIZE 0 → '8 bits'. */
  readonly values?: Readonly<Record<number, string>>;
}

export interface RegisterDescription {
  readonly name: string;
  readonly address: number;
  readonly access: Access;
  readonly description: string;
  readonly fields: readonly FieldDescription[];
}

export interface DmaChannelDescription {
  /** 1-based, as in the reference manual. */
  readonly channel: number;
  readonly ccr: RegisterDescription;
  readonly cndtr: RegisterDescription;
  readonly cpar: RegisterDescription;
  readonly cmar: RegisterDescription;
  /** The DMAMUX channel register that chooses this channel's request line. */
  readonly mux: RegisterDescription;
  /** Bit offset of this channel's flag nibble in ISR/IFCR (GIF at +0, TCIF +1, HTIF +2, TEIF +3). */
  readonly flagShift: number;
}

export interface UsartDescription {
  readonly name: string;
  readonly cr1: RegisterDescription;
  readonly cr2: RegisterDescription;
  readonly cr3: RegisterDescription;
  readonly brr: RegisterDescription;
  readonly rqr: RegisterDescription;
  readonly isr: RegisterDescription;
  readonly icr: RegisterDescription;
  readonly rdr: RegisterDescription;
  readonly tdr: RegisterDescription;
  readonly presc: RegisterDescription;
  /** DMAMUX request ids of this USART. */
  readonly dmaRequest: { readonly rx: number; readonly tx: number };
}

export interface ChipDescription {
  readonly name: string;
  /** DBGMCU_IDCODE DEV_ID, as HELLO reports it. */
  readonly devId: number;
  readonly dma: {
    readonly isr: RegisterDescription;
    readonly ifcr: RegisterDescription;
    /** The channels the bridge exposes, in channel order. */
    readonly channels: readonly DmaChannelDescription[];
  };
  /** Request ids by name (USART1_RX, USART1_TX, ...). */
  readonly dmamuxRequests: Readonly<Record<string, number>>;
  readonly usart1: UsartDescription;
  /** Start and end (exclusive) of the peripheral address space, to tell registers from memory. */
  readonly peripheralRange: { readonly start: number; readonly end: number };
}
