/*
 * camlink: the UART packet format of docs/UART.md, byte-identical to the
 * gateway's internal/camlink (pinned by testdata/camlink).
 *
 * A packet is a 24-byte header, the payload and a CRC-32 of the payload;
 * every multi-byte field is little-endian:
 *
 *   offset size field
 *   0      4    sync A5 5A 43 52
 *   4      1    type: 1 JPEG, 2 JSON, others reserved
 *   5      1    flags: bit 0 uptime valid, bits 1-7 reserved
 *   6      4    sequence number
 *   10     4    payload length
 *   14     8    uptime in microseconds (0 unless flag bit 0)
 *   22     2    CRC-16/CCITT-FALSE of bytes 4..21
 *   24     n    payload
 *   24+n   4    CRC-32 (IEEE) of the payload
 *
 * Plain C99, no allocation, no Arduino: compiled into the sketch and into
 * the host tests alike.
 */
#ifndef CAMRELAY_CORE_CAMLINK_H
#define CAMRELAY_CORE_CAMLINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_PKT_HEADER_LEN 24u
#define CR_PKT_TRAILER_LEN 4u
#define CR_PKT_OVERHEAD (CR_PKT_HEADER_LEN + CR_PKT_TRAILER_LEN)

/* Packet types; 0 and 3..255 are reserved. */
#define CR_PKT_JPEG 1u
#define CR_PKT_JSON 2u

/* Flag bit 0: the uptime field holds a time. Bits 1-7 are reserved. */
#define CR_PKT_FLAG_UPTIME 0x01u

/* The largest payload the gateway sends down the line (docs/UART.md,
 * "Limits"): the firmware's receive buffer is this plus the overhead. */
#define CR_PKT_DOWNLINK_MAX 4096u

extern const uint8_t cr_pkt_sync[4];
extern const uint32_t cr_crc32_table[256];

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final
 * XOR. Check value of "123456789": 0x29B1. */
uint16_t cr_crc16(const uint8_t *p, size_t n);

/* CRC-32/ISO-HDLC as zlib's crc32(): cr_crc32_update(0, p, n) is the CRC
 * of p; feeding the data in pieces gives the same result. Check value of
 * "123456789": 0xCBF43926. */
uint32_t cr_crc32_update(uint32_t crc, const uint8_t *p, size_t n);
uint32_t cr_crc32(const uint8_t *p, size_t n);

/* cr_pkt_header writes the 24-byte header of a packet whose payload is len
 * bytes. The uptime is written only when flags has CR_PKT_FLAG_UPTIME. */
void cr_pkt_header(uint8_t out[CR_PKT_HEADER_LEN], uint8_t type, uint8_t flags,
                   uint32_t seq, uint32_t len, uint64_t uptime_us);

/* cr_pkt_trailer writes the 4-byte trailer: crc, little-endian. */
void cr_pkt_trailer(uint8_t out[CR_PKT_TRAILER_LEN], uint32_t crc);

/* cr_pkt_encode writes a whole packet to out and returns its size
 * (len + CR_PKT_OVERHEAD), or 0 if it does not fit in cap. */
size_t cr_pkt_encode(uint8_t *out, size_t cap, uint8_t type, uint8_t flags,
                     uint32_t seq, uint64_t uptime_us, const uint8_t *payload,
                     size_t len);

/* cr_packet is a good packet found by a reader. payload points into the
 * reader's buffer and stays valid until the next cr_reader_* call. */
typedef struct {
    uint8_t type;
    uint8_t flags;
    uint32_t seq;
    uint64_t uptime_us; /* 0 unless flags has CR_PKT_FLAG_UPTIME */
    uint32_t len;
    uint32_t crc;
    const uint8_t *payload;
} cr_packet;

/* cr_reader_stats counts what a reader has read. Once the input has ended
 * (cr_reader_next with eof), every input byte is counted once: in a good
 * packet (packet_bytes) or as garbage. */
typedef struct {
    uint64_t packets;
    uint64_t packet_bytes;
    uint64_t garbage;
    uint64_t bad_header;
    uint64_t too_large;
    uint64_t bad_crc;
    uint64_t truncated;
} cr_reader_stats;

/* cr_reader finds packets in a byte stream that may also carry boot text,
 * log lines, noise and damaged packets, following the normative receiving
 * rules of docs/UART.md. It works in a buffer the caller provides, which
 * must hold max_payload + CR_PKT_OVERHEAD bytes: it never holds more than
 * one candidate packet. Not safe for concurrent use. */
typedef struct {
    uint8_t *buf;
    size_t cap;
    uint32_t max_payload;
    size_t r, w; /* buf[r:w] is buffered, not yet consumed */
    cr_reader_stats stats;
} cr_reader;

/* cr_reader_init prepares rd. It returns 0, or -1 when cap is smaller
 * than max_payload + CR_PKT_OVERHEAD. */
int cr_reader_init(cr_reader *rd, uint8_t *buf, size_t cap, uint32_t max_payload);

/* cr_reader_feed copies up to n input bytes into the reader and returns
 * how many it took; it takes fewer only while a packet waits to be taken
 * with cr_reader_next, so call cr_reader_next until it returns 0, then
 * feed the rest. */
size_t cr_reader_feed(cr_reader *rd, const uint8_t *data, size_t n);

/* cr_reader_next returns 1 and fills *p with the next good packet, or 0
 * when it needs more input. eof says the input has ended: the reader then
 * settles every buffered byte (an incomplete packet counts as truncated,
 * and the bytes after its first one are searched again). */
int cr_reader_next(cr_reader *rd, int eof, cr_packet *p);

#ifdef __cplusplus
}
#endif

#endif
