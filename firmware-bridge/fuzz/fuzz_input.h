/*
 * The fuzz input format, shared by the target and the seed generator.
 *
 *   byte 0        flags: bit 0 opens a session (HELLO, seq 0) first
 *   then records  kind u8 | len u16 (LE) | len bytes
 *     kind 0      raw bytes for the deframer, fed as they are
 *     kind 1      a frame: type u8 | seq u16 | payload, sent with a valid
 *                 header, CRC, COBS and delimiter
 *     kind 2      a frame with the next sequence number: type u8 | payload
 *     kind 3      events: each 8 bytes post one DMA or USART event; the
 *                 first byte's bit 7 empties the transmit room first
 *     kind 4      the DMA moves: each 2 bytes step one channel (bit 0 of
 *                 the first: channel 1 or 2; bit 1: a transfer error) by
 *                 the second byte's count of items
 *
 * Raw bytes reach the framing code; well-formed frames reach the session,
 * dispatch and policy code, which random bytes would almost never do.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

enum {
    FZ_RAW = 0,
    FZ_FRAME = 1,
    FZ_NEXT = 2,
    FZ_EVENTS = 3,
    FZ_DMA = 4,
};

#define FZ_FLAG_OPEN 1u

#endif
