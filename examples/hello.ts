import { type Board, MovedError, Serial1 } from 'dma-bridge/driver';

/** Says hello on USART1 by DMA, then receives a 16-byte answer by DMA and returns it. */
export async function main(board: Board, log: (line: string) => void = console.log): Promise<string> {
  const serial = await Serial1.take(board, { baudRate: 115_200 });
  const buf = board.alloc(13); // DMA memory in the board's arena; its address never moves
  await buf.write(new TextEncoder().encode('Hello, world!')); // copied to the board

  const transfer = serial.writeAll(buf); // moves `serial` and `buf` into the transfer
  try {
    await serial.write(0x41);
  } catch (e) {
    if (e instanceof MovedError) log(e.message); // "this Serial1 was moved by writeAll(); ..."
  }
  const { buffer, serial: s } = await transfer.wait(); // fresh owners, once the last bit has left the wire
  buffer.free();

  // Leaving this scope early (a throw, a timeout) stops the DMA before its memory is freed.
  await using rx = s.readExact(board.alloc(16));
  const { buffer: answer } = await rx.wait({ timeoutMs: 5_000 });
  const text = new TextDecoder().decode(await answer.read());
  answer.free();
  return text;
}
