/**
 * STM32G071 (RM0444), the parts the bridge exposes: DMA1 channels 1 and 2,
 * DMAMUX1 channels 0 and 1, USART1. Addresses and fields as in ST's SVD
 * for the chip and the CMSIS header stm32g071xx.h.
 */

import { builtInChip } from './frozen.ts';
import type {
  Access,
  ChipDescription,
  DmaChannelDescription,
  FieldDescription,
  RegisterDescription,
  UsartDescription,
} from './types.ts';

const f = (
  name: string,
  offset: number,
  width: number,
  description: string,
  values?: Record<number, string>,
): FieldDescription =>
  values ? { name, offset, width, description, values } : { name, offset, width, description };

const reg = (
  name: string,
  address: number,
  access: Access,
  description: string,
  fields: FieldDescription[],
): RegisterDescription => ({ name, address, access, description, fields });

const DMA1 = 0x4002_0000;
const DMAMUX1 = 0x4002_0800;
const USART1 = 0x4001_3800;

const SIZE = { 0: '8 bits', 1: '16 bits', 2: '32 bits', 3: 'reserved' };

const CCR_FIELDS = [
  f('EN', 0, 1, 'channel enable'),
  f('TCIE', 1, 1, 'transfer complete interrupt enable'),
  f('HTIE', 2, 1, 'half transfer interrupt enable'),
  f('TEIE', 3, 1, 'transfer error interrupt enable'),
  f('DIR', 4, 1, 'data transfer direction', { 0: 'read from peripheral', 1: 'read from memory' }),
  f('CIRC', 5, 1, 'circular mode'),
  f('PINC', 6, 1, 'peripheral increment mode'),
  f('MINC', 7, 1, 'memory increment mode'),
  f('PSIZE', 8, 2, 'peripheral size', SIZE),
  f('MSIZE', 10, 2, 'memory size', SIZE),
  f('PL', 12, 2, 'priority level', { 0: 'low', 1: 'medium', 2: 'high', 3: 'very high' }),
  f('MEM2MEM', 14, 1, 'memory-to-memory mode'),
];

function dmaFlagFields(prefix: '' | 'C'): FieldDescription[] {
  const verb = prefix === 'C' ? 'clear ' : '';
  const out: FieldDescription[] = [];
  for (let n = 1; n <= 7; n++) {
    const at = 4 * (n - 1);
    out.push(
      f(`${prefix}GIF${n}`, at, 1, `${verb}global interrupt flag, channel ${n}`),
      f(`${prefix}TCIF${n}`, at + 1, 1, `${verb}transfer complete flag, channel ${n}`),
      f(`${prefix}HTIF${n}`, at + 2, 1, `${verb}half transfer flag, channel ${n}`),
      f(`${prefix}TEIF${n}`, at + 3, 1, `${verb}transfer error flag, channel ${n}`),
    );
  }
  return out;
}

const CXCR_FIELDS = [
  f('DMAREQ_ID', 0, 8, 'DMA request identification'),
  f('SOIE', 8, 1, 'synchronization overrun interrupt enable'),
  f('EGE', 9, 1, 'event generation enable'),
  f('SE', 16, 1, 'synchronization enable'),
  f('SPOL', 17, 2, 'synchronization polarity'),
  f('NBREQ', 19, 5, 'number of DMA requests minus 1 to forward'),
  f('SYNC_ID', 24, 5, 'synchronization identification'),
];

function dmaChannel(channel: number): DmaChannelDescription {
  const base = DMA1 + 0x08 + 0x14 * (channel - 1);
  const mux = channel - 1;
  return {
    channel,
    ccr: reg(
      `DMA1_CCR${channel}`,
      base,
      'read-write',
      `DMA channel ${channel} configuration register`,
      CCR_FIELDS,
    ),
    cndtr: reg(
      `DMA1_CNDTR${channel}`,
      base + 4,
      'read-write',
      `DMA channel ${channel} number of data to transfer`,
      [f('NDT', 0, 16, 'number of data items to transfer')],
    ),
    cpar: reg(`DMA1_CPAR${channel}`, base + 8, 'read-write', `DMA channel ${channel} peripheral address`, [
      f('PA', 0, 32, 'peripheral address'),
    ]),
    cmar: reg(`DMA1_CMAR${channel}`, base + 12, 'read-write', `DMA channel ${channel} memory address`, [
      f('MA', 0, 32, 'memory address'),
    ]),
    mux: reg(
      `DMAMUX_C${mux}CR`,
      DMAMUX1 + 4 * mux,
      'read-write',
      `DMAMUX request line multiplexer channel ${mux}`,
      CXCR_FIELDS,
    ),
    flagShift: 4 * (channel - 1),
  };
}

const USART1_DESCRIPTION: UsartDescription = {
  name: 'USART1',
  cr1: reg('USART1_CR1', USART1 + 0x00, 'read-write', 'control register 1', [
    f('UE', 0, 1, 'USART enable'),
    f('UESM', 1, 1, 'USART enable in low-power mode'),
    f('RE', 2, 1, 'receiver enable'),
    f('TE', 3, 1, 'transmitter enable'),
    f('IDLEIE', 4, 1, 'IDLE interrupt enable'),
    f('RXNEIE', 5, 1, 'RXNE (RXFIFO not empty) interrupt enable'),
    f('TCIE', 6, 1, 'transmission complete interrupt enable'),
    f('TXEIE', 7, 1, 'TXE (TXFIFO not full) interrupt enable'),
    f('PEIE', 8, 1, 'parity error interrupt enable'),
    f('PS', 9, 1, 'parity selection', { 0: 'even', 1: 'odd' }),
    f('PCE', 10, 1, 'parity control enable'),
    f('WAKE', 11, 1, 'receiver wakeup method'),
    f('M0', 12, 1, 'word length bit 0'),
    f('MME', 13, 1, 'mute mode enable'),
    f('CMIE', 14, 1, 'character match interrupt enable'),
    f('OVER8', 15, 1, 'oversampling mode', { 0: 'by 16', 1: 'by 8' }),
    f('DEDT', 16, 5, 'driver enable de-assertion time'),
    f('DEAT', 21, 5, 'driver enable assertion time'),
    f('RTOIE', 26, 1, 'receiver timeout interrupt enable'),
    f('EOBIE', 27, 1, 'end of block interrupt enable'),
    f('M1', 28, 1, 'word length bit 1'),
    f('FIFOEN', 29, 1, 'FIFO mode enable'),
    f('TXFEIE', 30, 1, 'TXFIFO empty interrupt enable'),
    f('RXFFIE', 31, 1, 'RXFIFO full interrupt enable'),
  ]),
  cr2: reg('USART1_CR2', USART1 + 0x04, 'read-write', 'control register 2', [
    f('SLVEN', 0, 1, 'synchronous slave mode enable'),
    f('DIS_NSS', 3, 1, 'NSS pin ignored in slave mode'),
    f('ADDM7', 4, 1, '7-bit address detection'),
    f('LBDL', 5, 1, 'LIN break detection length'),
    f('LBDIE', 6, 1, 'LIN break detection interrupt enable'),
    f('LBCL', 8, 1, 'last bit clock pulse'),
    f('CPHA', 9, 1, 'clock phase'),
    f('CPOL', 10, 1, 'clock polarity'),
    f('CLKEN', 11, 1, 'clock enable'),
    f('STOP', 12, 2, 'stop bits', { 0: '1', 1: '0.5', 2: '2', 3: '1.5' }),
    f('LINEN', 14, 1, 'LIN mode enable'),
    f('SWAP', 15, 1, 'swap TX/RX pins'),
    f('RXINV', 16, 1, 'RX pin active level inversion'),
    f('TXINV', 17, 1, 'TX pin active level inversion'),
    f('DATAINV', 18, 1, 'binary data inversion'),
    f('MSBFIRST', 19, 1, 'most significant bit first'),
    f('ABREN', 20, 1, 'auto baud rate enable'),
    f('ABRMOD', 21, 2, 'auto baud rate mode'),
    f('RTOEN', 23, 1, 'receiver timeout enable'),
    f('ADD', 24, 8, 'address of the USART node'),
  ]),
  cr3: reg('USART1_CR3', USART1 + 0x08, 'read-write', 'control register 3', [
    f('EIE', 0, 1, 'error interrupt enable (FE, ORE, NE)'),
    f('IREN', 1, 1, 'IrDA mode enable'),
    f('IRLP', 2, 1, 'IrDA low-power'),
    f('HDSEL', 3, 1, 'half-duplex selection'),
    f('NACK', 4, 1, 'smartcard NACK enable'),
    f('SCEN', 5, 1, 'smartcard mode enable'),
    f('DMAR', 6, 1, 'DMA enable receiver'),
    f('DMAT', 7, 1, 'DMA enable transmitter'),
    f('RTSE', 8, 1, 'RTS enable'),
    f('CTSE', 9, 1, 'CTS enable'),
    f('CTSIE', 10, 1, 'CTS interrupt enable'),
    f('ONEBIT', 11, 1, 'one sample bit method enable'),
    f('OVRDIS', 12, 1, 'overrun disable'),
    f('DDRE', 13, 1, 'DMA disable on reception error'),
    f('DEM', 14, 1, 'driver enable mode'),
    f('DEP', 15, 1, 'driver enable polarity selection'),
    f('SCARCNT', 17, 3, 'smartcard auto-retry count'),
    f('WUS', 20, 2, 'wakeup from low-power mode interrupt flag selection'),
    f('WUFIE', 22, 1, 'wakeup from low-power mode interrupt enable'),
    f('TXFTIE', 23, 1, 'TXFIFO threshold interrupt enable'),
    f('TCBGTIE', 24, 1, 'transmission complete before guard time interrupt enable'),
    f('RXFTCFG', 25, 3, 'receive FIFO threshold configuration'),
    f('RXFTIE', 28, 1, 'RXFIFO threshold interrupt enable'),
    f('TXFTCFG', 29, 3, 'TXFIFO threshold configuration'),
  ]),
  brr: reg('USART1_BRR', USART1 + 0x0c, 'read-write', 'baud rate register', [
    f('BRR', 0, 16, 'USART baud rate'),
  ]),
  rqr: reg('USART1_RQR', USART1 + 0x18, 'write', 'request register', [
    f('ABRRQ', 0, 1, 'auto baud rate request'),
    f('SBKRQ', 1, 1, 'send break request'),
    f('MMRQ', 2, 1, 'mute mode request'),
    f('RXFRQ', 3, 1, 'receive data flush request'),
    f('TXFRQ', 4, 1, 'transmit data flush request'),
  ]),
  isr: reg('USART1_ISR', USART1 + 0x1c, 'read', 'interrupt and status register', [
    f('PE', 0, 1, 'parity error'),
    f('FE', 1, 1, 'framing error'),
    f('NE', 2, 1, 'noise detection flag'),
    f('ORE', 3, 1, 'overrun error'),
    f('IDLE', 4, 1, 'idle line detected'),
    f('RXNE', 5, 1, 'read data register not empty'),
    f('TC', 6, 1, 'transmission complete'),
    f('TXE', 7, 1, 'transmit data register empty'),
    f('LBDF', 8, 1, 'LIN break detection flag'),
    f('CTSIF', 9, 1, 'CTS interrupt flag'),
    f('CTS', 10, 1, 'CTS flag'),
    f('RTOF', 11, 1, 'receiver timeout'),
    f('EOBF', 12, 1, 'end of block flag'),
    f('UDR', 13, 1, 'SPI slave underrun error flag'),
    f('ABRE', 14, 1, 'auto baud rate error'),
    f('ABRF', 15, 1, 'auto baud rate flag'),
    f('BUSY', 16, 1, 'busy flag'),
    f('CMF', 17, 1, 'character match flag'),
    f('SBKF', 18, 1, 'send break flag'),
    f('RWU', 19, 1, 'receiver wakeup from mute mode'),
    f('WUF', 20, 1, 'wakeup from low-power mode flag'),
    f('TEACK', 21, 1, 'transmit enable acknowledge flag'),
    f('REACK', 22, 1, 'receive enable acknowledge flag'),
    f('TXFE', 23, 1, 'TXFIFO empty'),
    f('RXFF', 24, 1, 'RXFIFO full'),
    f('TCBGT', 25, 1, 'transmission complete before guard time flag'),
    f('RXFT', 26, 1, 'RXFIFO threshold flag'),
    f('TXFT', 27, 1, 'TXFIFO threshold flag'),
  ]),
  icr: reg('USART1_ICR', USART1 + 0x20, 'write', 'interrupt flag clear register', [
    f('PECF', 0, 1, 'parity error clear flag'),
    f('FECF', 1, 1, 'framing error clear flag'),
    f('NECF', 2, 1, 'noise detected clear flag'),
    f('ORECF', 3, 1, 'overrun error clear flag'),
    f('IDLECF', 4, 1, 'idle line detected clear flag'),
    f('TXFECF', 5, 1, 'TXFIFO empty clear flag'),
    f('TCCF', 6, 1, 'transmission complete clear flag'),
    f('TCBGTCF', 7, 1, 'transmission complete before guard time clear flag'),
    f('LBDCF', 8, 1, 'LIN break detection clear flag'),
    f('CTSCF', 9, 1, 'CTS clear flag'),
    f('RTOCF', 11, 1, 'receiver timeout clear flag'),
    f('EOBCF', 12, 1, 'end of block clear flag'),
    f('UDRCF', 13, 1, 'SPI slave underrun clear flag'),
    f('CMCF', 17, 1, 'character match clear flag'),
    f('WUCF', 20, 1, 'wakeup from low-power mode clear flag'),
  ]),
  rdr: reg('USART1_RDR', USART1 + 0x24, 'read', 'receive data register (reading consumes the byte)', [
    f('RDR', 0, 9, 'receive data value'),
  ]),
  tdr: reg('USART1_TDR', USART1 + 0x28, 'write', 'transmit data register', [
    f('TDR', 0, 9, 'transmit data value'),
  ]),
  presc: reg('USART1_PRESC', USART1 + 0x2c, 'read-write', 'prescaler register', [
    f('PRESCALER', 0, 4, 'clock prescaler'),
  ]),
  dmaRequest: { rx: 50, tx: 51 },
};

/** Deep-frozen: every board shares it, and the driver decides by it. */
export const STM32G071: ChipDescription = builtInChip({
  name: 'STM32G071',
  devId: 0x460,
  dma: {
    isr: reg('DMA1_ISR', DMA1 + 0x00, 'read', 'DMA interrupt status register', dmaFlagFields('')),
    ifcr: reg('DMA1_IFCR', DMA1 + 0x04, 'write', 'DMA interrupt flag clear register', dmaFlagFields('C')),
    channels: [dmaChannel(1), dmaChannel(2)],
  },
  dmamuxRequests: { USART1_RX: 50, USART1_TX: 51, USART2_RX: 52, USART2_TX: 53 },
  usart1: USART1_DESCRIPTION,
  peripheralRange: { start: 0x4000_0000, end: 0x6000_0000 },
});
