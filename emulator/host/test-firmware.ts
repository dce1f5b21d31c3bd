/**
 * Tiny firmwares for the board tests, assembled once with GNU as and kept
 * here as bytes so the tests need no toolchain. Their sources are beside
 * this file (test-firmware/*.s); to rebuild one:
 *
 *   arm-none-eabi-as -o x.o x.s && arm-none-eabi-ld -Ttext=0x08000000 -o x.elf x.o
 *   arm-none-eabi-objcopy -O binary x.elf x.bin && xxd -p x.bin | tr -d '\n'
 *
 * Both are correct programs for the strict board: they clock GPIOA and put
 * PA2/PA3 in alternate function 1 before USART2 can reach the host.
 */

function fromHex(hex: string): Uint8Array {
  const image = new Uint8Array(hex.length / 2);
  for (let i = 0; i < image.length; i++) image[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return image;
}

/**
 * test-firmware/echo.s: USART2 at 115200 from HSI16 (BRR 139), a boot
 * banner 'B', then every received byte echoed from the USART2 interrupt;
 * WFI in between.
 */
const ECHO =
  '00900020bd00000801010008010100080101000801010008010100080101000801010008010100080101000801010008' +
  '010100080101000801010008010100080101000801010008010100080101000801010008010100080101000801010008' +
  '010100080101000801010008010100080101000801010008010100080101000801010008010100080101000801010008' +
  '0101000801010008010100080101000801010008010100080101000801010008f9000008010100080101000811480121' +
  '41631149c16311480168f0229143a02211430160016a0e4a91430e4a114301620d488b21c1602d210160422181620b4a' +
  '0b49116030bffde70748416a81627047fee7000000100240000002000000005000ff0000001100000044004000e100e0' +
  '00000010';

/** The raw flash image of the echo firmware. */
export function echoFirmware(): Uint8Array {
  return fromHex(ECHO);
}

/** One 8N1 character at 115200 baud from 16 MHz (BRR 139), ns. */
export const FRAME_NS = (10 * 139 * 1e9) / 16e6;

/**
 * test-firmware/dma-hello.s: sets up 64 MHz as ST's Nucleo examples do
 * (LATENCY 2, PLL HSI16 / 1 × 8 / 2, wait PLLRDY, SW = PLL, wait SWS), then
 * sends "hello" on USART2 at 115200 through DMA1 channel 1 (DMAMUX request
 * 53), waits for DMA TCIF1 and USART TC, and stops on BKPT 0. Only the SP
 * and reset vectors are present.
 */
const DMA_HELLO =
  '009000200900000824480168072291430231016022482349c1600168224a11430160224a01681142fcd0022181603822' +
  '816811401029fbd10121416381631c49c1631c480168f0229143a02211430160016a194a9143194a1143016218483521' +
  '01601848184901610aa141610521c16093218160154b1649d9608021996009211960022201681142fcd04022d9691142' +
  'fcd000be68656c6c6f00c0460020024000100240020800300000000100000002000002000000005000ff000000110000' +
  '000802400000024028440040004400402c020000';

export function dmaHelloFirmware(): Uint8Array {
  return fromHex(DMA_HELLO);
}
