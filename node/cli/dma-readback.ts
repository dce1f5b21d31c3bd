/**
 * What the CLI says about the DMA after a stop comes from the board: every
 * channel's CCR read back, never what the host believes it asked for.
 */
import type { Board } from '../../driver/board/board.ts';
import { fieldMask } from '../../driver/chip/decode.ts';

/**
 * Reads back CCR of each DMA1 channel the bridge serves; resolves with the
 * words that state it ("DMA1 channels 1 and 2 read back off"), or rejects
 * naming a channel whose EN still reads 1.
 */
export async function dmaReadBackOff(board: Board): Promise<string> {
  const channels = board.chip.dma.channels;
  const values = await Promise.all(channels.map((ch) => board.readRegister(ch.ccr.address)));
  for (const [i, ch] of channels.entries()) {
    if ((values[i]! & fieldMask(ch.ccr, 'EN')) !== 0)
      throw new Error(
        `the DMA may still be running: DMA1 channel ${ch.channel} reads back enabled (CCR ${values[i]!.toString(16)}); ` +
          'run "dma-bridge regs" to look, or reset the board',
      );
  }
  return `DMA1 channels ${channels.map((ch) => ch.channel).join(' and ')} read back off`;
}
