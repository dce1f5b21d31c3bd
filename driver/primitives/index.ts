export { Dma1Channel1, takeDma1Channel1 } from './dma1-channel1.ts';
export { SerialError, type SerialErrorKind } from './errors.ts';
export { Serial1, type SerialConfig, takeSerial1, WouldBlock } from './serial1.ts';
