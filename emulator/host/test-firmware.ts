/**
 * A tiny firmware for the board tests, assembled once with GNU as and kept
 * here as bytes so the tests need no toolchain. Source (Thumb, ARMv6-M):
 *
 *   reset:  RCC_APBENR1 = USART2EN
 *           USART2_BRR  = 139            @ 115200 baud from 16 MHz HSI16
 *           USART2_CR1  = UE|RE|TE|RXNEIE
 *           USART2_TDR  = 'B'            @ a boot banner
 *           NVIC_ISER   = 1 << 28        @ USART2
 *   idle:   wfi ; b idle
 *   usart2_irq:  TDR = RDR ; bx lr       @ echo
 *   fault:  b fault
 */
const CODE_OFFSET = 0xbc;
const CODE =
  '09480a49c1630a488b21c1602d21016042218162074a0849116030bffde70448416a81627047fee7' +
  '00100240000002000044004000e100e000000010';

/** The raw flash image of the echo firmware. */
export function echoFirmware(): Uint8Array {
  const image = new Uint8Array(CODE_OFFSET + CODE.length / 2);
  const view = new DataView(image.buffer);
  view.setUint32(0, 0x2000_9000, true); // initial SP
  view.setUint32(4, 0x0800_00bd, true); // reset
  for (let v = 2; v < 47; v++) view.setUint32(4 * v, 0x0800_00e3, true); // fault
  view.setUint32(4 * (16 + 28), 0x0800_00db, true); // USART2
  for (let i = 0; i < CODE.length / 2; i++)
    image[CODE_OFFSET + i] = Number.parseInt(CODE.slice(2 * i, 2 * i + 2), 16);
  return image;
}

/** One 8N1 character at 115200 baud from 16 MHz (BRR 139), ns. */
export const FRAME_NS = (10 * 139 * 1e9) / 16e6;

/**
 * A firmware that sets up 64 MHz as ST's Nucleo examples do (LATENCY 2,
 * PLL HSI16 / 1 × 8 / 2, wait PLLRDY, SW = PLL, wait SWS), then sends
 * "hello" on USART2 at 115200 through DMA1 channel 1 (DMAMUX request 53),
 * waits for DMA TCIF1 and USART TC, and stops on BKPT 0. Only the SP and
 * reset vectors are present.
 */
const DMA_HELLO =
  '00900020090000081d48016807229143023101601b481c49c16001681b4a114301601b4a01681142' +
  'fcd0022181603822816811401029fbd1012181631549c1631548352101601548154901610aa14161' +
  '0521c16093218160124b1349d9608021996009211960022201681142fcd04022d9691142fcd000be' +
  '68656c6c6f00c0460020024000100240020800300000000100000002000002000008024000000240' +
  '28440040004400402c020000';

export function dmaHelloFirmware(): Uint8Array {
  const image = new Uint8Array(DMA_HELLO.length / 2);
  for (let i = 0; i < image.length; i++) image[i] = Number.parseInt(DMA_HELLO.slice(2 * i, 2 * i + 2), 16);
  return image;
}
