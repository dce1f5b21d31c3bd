/* Constants of the bridge protocol v2 (PROTOCOL.md). */
#ifndef PROTOCOL_H
#define PROTOCOL_H

#define PROTO_VERSION          2u
#define FW_VERSION_MAJOR       2u
#define FW_VERSION_MINOR       4u
#define FW_VERSION_PATCH       0u

/* PROTOCOL.md 1: sizes */
#define MAX_REQUEST_PAYLOAD    1024u
#define MAX_REPLY_PAYLOAD      264u
#define FRAME_OVERHEAD         6u   /* header 4 + crc 2 */
#define EVENT_MARK_LEN         2u   /* replies and NAKs: evNext u16 after the header */
#define MAX_BODY               (MAX_REQUEST_PAYLOAD + FRAME_OVERHEAD)       /* 1030 */
#define MAX_ENCODED            (MAX_BODY + (MAX_BODY + 253u) / 254u)        /* 1035 */
#define MAX_REPLY_BODY         (MAX_REPLY_PAYLOAD + EVENT_MARK_LEN + FRAME_OVERHEAD) /* 272 */
#define COBS_MAX_ENCODED(n)    ((n) + (n) / 254u + 1u)
#define MAX_REPLY_WIRE         (COBS_MAX_ENCODED(MAX_REPLY_BODY) + 1u)      /* 275 with 0x00 */
#define SESSION_WINDOW         4u
#define MAX_PING               255u
#define MAX_MEM_READ           (MAX_REPLY_PAYLOAD - 8u)                     /* 256 */
#define MAX_MEM_WRITE          (MAX_REQUEST_PAYLOAD - 4u)                   /* 1020 */
#define MAX_BATCH_READS        64u  /* values in a batch reply; a STATUS op adds 4 */
#define STATUS_VALUES          4u

/* Request types are 0x01..0x3F: 0x40..0x7F are events, bit 7 marks
 * replies, so a request type outside that range could be mistaken for
 * an event or a reply (0x7F | 0x80 is the NAK); such frames are NAKed. */
#define REQUEST_TYPE_MAX       0x3Fu

/* capabilities (HELLO) */
#define CAP_DMA_CH1            (1u << 0)
#define CAP_DMA_CH2            (1u << 1)
#define CAP_BATCH_POLL         (1u << 2)
#define CAP_EVENTS             (1u << 3)
#define CAP_SET_LINK_BAUD      (1u << 4)
#define CAP_BOARD_STATUS       (1u << 5)
#define HELLO_REPLY_MAX        96u  /* status + body with up to 8 rates */
#define MAX_LINK_RATES         8u

/* Total time the POLLs of one REG_BATCH may wait (PROTOCOL.md 2). */
#define BATCH_POLL_BUDGET_US   100000u

/* message types */
enum {
    T_HELLO = 0x01,
    T_PING = 0x02,
    T_REG_READ = 0x03,
    T_REG_WRITE = 0x04,
    T_REG_BATCH = 0x05,
    T_MEM_READ = 0x06,
    T_MEM_WRITE = 0x07,
    T_RESET_PERIPHERALS = 0x08,
    T_SET_LINK_BAUD = 0x09,
    T_BOARD_STATUS = 0x0A,
    T_REPLY_BIT = 0x80,
    T_EV_BOOT = 0x41,
    T_EV_DMA = 0x42,
    T_EV_USART = 0x43,
    T_NAK = 0xFF,
};

/* REG_BATCH operations */
enum {
    OP_READ = 0x01,
    OP_WRITE = 0x02,
    OP_MASKED_WRITE = 0x03,
    OP_POLL = 0x04,
    OP_STATUS = 0x05,
};

/* PROTOCOL.md 5: status codes */
enum {
    ST_OK = 0x00,
    ST_BAD_CRC = 0x01,
    ST_BAD_FRAME = 0x02,
    ST_TOO_LARGE = 0x03,
    ST_BAD_VERSION = 0x04,
    ST_UNKNOWN_COMMAND = 0x05,
    ST_BAD_LENGTH = 0x06,
    ST_SEQ_GAP = 0x07,
    ST_NO_SESSION = 0x08,
    ST_STALE = 0x09,
    ST_REG_NOT_ALLOWED = 0x0A,
    ST_VALUE_NOT_ALLOWED = 0x0B,
    ST_OUT_OF_ARENA = 0x0C,
    ST_DMA_START_REFUSED = 0x0D,
    ST_BUSY = 0x0E,
    ST_POLL_TIMEOUT = 0x0F,
};

/* DMA_START_REFUSED reasons */
enum {
    DSR_ARENA = 1,
    DSR_PERIPH_ADDR = 2,
    DSR_DMAMUX = 3,
    DSR_MEM2MEM = 4,
    DSR_PINC = 5,
    DSR_SIZE = 6,
    DSR_CNDTR_ZERO = 7,
    DSR_TEIF_SET = 8, /* TEIF blocks EN (RM0444 DMA_CCRx.EN): clear it first */
    DSR_OVERLAP = 9,  /* memory overlaps the other running channel's range */
};

#endif
