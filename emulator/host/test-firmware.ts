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
