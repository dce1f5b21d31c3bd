export { cobsDecode, cobsEncode, cobsMaxEncodedLength } from './cobs.ts';
export { CRC16_INIT, CRC16_POLY, crc16 } from './crc16.ts';
export { FrameDecoder, type FrameDecoderOptions, type FrameDecoderStats } from './decoder.ts';
export { EncodeError, encodeMessage, encodeRawFrame } from './encode.ts';
export * from './messages.ts';
export { parseBody } from './parse.ts';
