export { Dma1Channel1, takeDma1Channel1 } from './dma1-channel1.ts';
export { type SerialConfig, UsartBytes, WouldBlock } from './usart-bytes.ts';
