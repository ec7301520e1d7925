/* camlink: UART packet framing; see camlink.h and docs/UART.md. */
#include "camlink.h"

#include <string.h>

const uint8_t cr_pkt_sync[4] = {0xA5, 0x5A, 0x43, 0x52};

uint16_t cr_crc16(const uint8_t *p, size_t n) {
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)((uint16_t)p[i] << 8);
        for (int b = 0; b < 8; b++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

/* The table of the reflected polynomial 0xEDB88320 (zlib's), in flash:
 * 1 KiB, and a 50 KB JPEG costs well under a millisecond on an ESP32.
 * test_core.c recomputes it. */
const uint32_t cr_crc32_table[256] = {
    0x00000000u, 0x77073096u, 0xEE0E612Cu, 0x990951BAu, 0x076DC419u, 0x706AF48Fu,
    0xE963A535u, 0x9E6495A3u, 0x0EDB8832u, 0x79DCB8A4u, 0xE0D5E91Eu, 0x97D2D988u,
    0x09B64C2Bu, 0x7EB17CBDu, 0xE7B82D07u, 0x90BF1D91u, 0x1DB71064u, 0x6AB020F2u,
    0xF3B97148u, 0x84BE41DEu, 0x1ADAD47Du, 0x6DDDE4EBu, 0xF4D4B551u, 0x83D385C7u,
    0x136C9856u, 0x646BA8C0u, 0xFD62F97Au, 0x8A65C9ECu, 0x14015C4Fu, 0x63066CD9u,
    0xFA0F3D63u, 0x8D080DF5u, 0x3B6E20C8u, 0x4C69105Eu, 0xD56041E4u, 0xA2677172u,
    0x3C03E4D1u, 0x4B04D447u, 0xD20D85FDu, 0xA50AB56Bu, 0x35B5A8FAu, 0x42B2986Cu,
    0xDBBBC9D6u, 0xACBCF940u, 0x32D86CE3u, 0x45DF5C75u, 0xDCD60DCFu, 0xABD13D59u,
    0x26D930ACu, 0x51DE003Au, 0xC8D75180u, 0xBFD06116u, 0x21B4F4B5u, 0x56B3C423u,
    0xCFBA9599u, 0xB8BDA50Fu, 0x2802B89Eu, 0x5F058808u, 0xC60CD9B2u, 0xB10BE924u,
    0x2F6F7C87u, 0x58684C11u, 0xC1611DABu, 0xB6662D3Du, 0x76DC4190u, 0x01DB7106u,
    0x98D220BCu, 0xEFD5102Au, 0x71B18589u, 0x06B6B51Fu, 0x9FBFE4A5u, 0xE8B8D433u,
    0x7807C9A2u, 0x0F00F934u, 0x9609A88Eu, 0xE10E9818u, 0x7F6A0DBBu, 0x086D3D2Du,
    0x91646C97u, 0xE6635C01u, 0x6B6B51F4u, 0x1C6C6162u, 0x856530D8u, 0xF262004Eu,
    0x6C0695EDu, 0x1B01A57Bu, 0x8208F4C1u, 0xF50FC457u, 0x65B0D9C6u, 0x12B7E950u,
    0x8BBEB8EAu, 0xFCB9887Cu, 0x62DD1DDFu, 0x15DA2D49u, 0x8CD37CF3u, 0xFBD44C65u,
    0x4DB26158u, 0x3AB551CEu, 0xA3BC0074u, 0xD4BB30E2u, 0x4ADFA541u, 0x3DD895D7u,
    0xA4D1C46Du, 0xD3D6F4FBu, 0x4369E96Au, 0x346ED9FCu, 0xAD678846u, 0xDA60B8D0u,
    0x44042D73u, 0x33031DE5u, 0xAA0A4C5Fu, 0xDD0D7CC9u, 0x5005713Cu, 0x270241AAu,
    0xBE0B1010u, 0xC90C2086u, 0x5768B525u, 0x206F85B3u, 0xB966D409u, 0xCE61E49Fu,
    0x5EDEF90Eu, 0x29D9C998u, 0xB0D09822u, 0xC7D7A8B4u, 0x59B33D17u, 0x2EB40D81u,
    0xB7BD5C3Bu, 0xC0BA6CADu, 0xEDB88320u, 0x9ABFB3B6u, 0x03B6E20Cu, 0x74B1D29Au,
    0xEAD54739u, 0x9DD277AFu, 0x04DB2615u, 0x73DC1683u, 0xE3630B12u, 0x94643B84u,
    0x0D6D6A3Eu, 0x7A6A5AA8u, 0xE40ECF0Bu, 0x9309FF9Du, 0x0A00AE27u, 0x7D079EB1u,
    0xF00F9344u, 0x8708A3D2u, 0x1E01F268u, 0x6906C2FEu, 0xF762575Du, 0x806567CBu,
    0x196C3671u, 0x6E6B06E7u, 0xFED41B76u, 0x89D32BE0u, 0x10DA7A5Au, 0x67DD4ACCu,
    0xF9B9DF6Fu, 0x8EBEEFF9u, 0x17B7BE43u, 0x60B08ED5u, 0xD6D6A3E8u, 0xA1D1937Eu,
    0x38D8C2C4u, 0x4FDFF252u, 0xD1BB67F1u, 0xA6BC5767u, 0x3FB506DDu, 0x48B2364Bu,
    0xD80D2BDAu, 0xAF0A1B4Cu, 0x36034AF6u, 0x41047A60u, 0xDF60EFC3u, 0xA867DF55u,
    0x316E8EEFu, 0x4669BE79u, 0xCB61B38Cu, 0xBC66831Au, 0x256FD2A0u, 0x5268E236u,
    0xCC0C7795u, 0xBB0B4703u, 0x220216B9u, 0x5505262Fu, 0xC5BA3BBEu, 0xB2BD0B28u,
    0x2BB45A92u, 0x5CB36A04u, 0xC2D7FFA7u, 0xB5D0CF31u, 0x2CD99E8Bu, 0x5BDEAE1Du,
    0x9B64C2B0u, 0xEC63F226u, 0x756AA39Cu, 0x026D930Au, 0x9C0906A9u, 0xEB0E363Fu,
    0x72076785u, 0x05005713u, 0x95BF4A82u, 0xE2B87A14u, 0x7BB12BAEu, 0x0CB61B38u,
    0x92D28E9Bu, 0xE5D5BE0Du, 0x7CDCEFB7u, 0x0BDBDF21u, 0x86D3D2D4u, 0xF1D4E242u,
    0x68DDB3F8u, 0x1FDA836Eu, 0x81BE16CDu, 0xF6B9265Bu, 0x6FB077E1u, 0x18B74777u,
    0x88085AE6u, 0xFF0F6A70u, 0x66063BCAu, 0x11010B5Cu, 0x8F659EFFu, 0xF862AE69u,
    0x616BFFD3u, 0x166CCF45u, 0xA00AE278u, 0xD70DD2EEu, 0x4E048354u, 0x3903B3C2u,
    0xA7672661u, 0xD06016F7u, 0x4969474Du, 0x3E6E77DBu, 0xAED16A4Au, 0xD9D65ADCu,
    0x40DF0B66u, 0x37D83BF0u, 0xA9BCAE53u, 0xDEBB9EC5u, 0x47B2CF7Fu, 0x30B5FFE9u,
    0xBDBDF21Cu, 0xCABAC28Au, 0x53B39330u, 0x24B4A3A6u, 0xBAD03605u, 0xCDD70693u,
    0x54DE5729u, 0x23D967BFu, 0xB3667A2Eu, 0xC4614AB8u, 0x5D681B02u, 0x2A6F2B94u,
    0xB40BBE37u, 0xC30C8EA1u, 0x5A05DF1Bu, 0x2D02EF8Du,
};

uint32_t cr_crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc = cr_crc32_table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    }
    return ~crc;
}

uint32_t cr_crc32(const uint8_t *p, size_t n) { return cr_crc32_update(0, p, n); }

static void put16(uint8_t *o, uint16_t v) {
    o[0] = (uint8_t)v;
    o[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *o, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        o[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put64(uint8_t *o, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        o[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p) {
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void cr_pkt_header(uint8_t out[CR_PKT_HEADER_LEN], uint8_t type, uint8_t flags,
                   uint32_t seq, uint32_t len, uint64_t uptime_us) {
    memcpy(out, cr_pkt_sync, 4);
    out[4] = type;
    out[5] = flags;
    put32(out + 6, seq);
    put32(out + 10, len);
    put64(out + 14, (flags & CR_PKT_FLAG_UPTIME) ? uptime_us : 0);
    put16(out + 22, cr_crc16(out + 4, 18));
}

void cr_pkt_trailer(uint8_t out[CR_PKT_TRAILER_LEN], uint32_t crc) { put32(out, crc); }

size_t cr_pkt_encode(uint8_t *out, size_t cap, uint8_t type, uint8_t flags,
                     uint32_t seq, uint64_t uptime_us, const uint8_t *payload,
                     size_t len) {
    if ((uint64_t)len > 0xFFFFFFFFu || cap < CR_PKT_OVERHEAD || len > cap - CR_PKT_OVERHEAD) {
        return 0;
    }
    cr_pkt_header(out, type, flags, seq, (uint32_t)len, uptime_us);
    if (len > 0) {
        memcpy(out + CR_PKT_HEADER_LEN, payload, len);
    }
    cr_pkt_trailer(out + CR_PKT_HEADER_LEN + len, cr_crc32(payload, len));
    return CR_PKT_OVERHEAD + len;
}

int cr_reader_init(cr_reader *rd, uint8_t *buf, size_t cap, uint32_t max_payload) {
    memset(rd, 0, sizeof *rd);
    if (buf == NULL || cap < (size_t)max_payload + CR_PKT_OVERHEAD) {
        return -1;
    }
    rd->buf = buf;
    rd->cap = cap;
    rd->max_payload = max_payload;
    return 0;
}

size_t cr_reader_feed(cr_reader *rd, const uint8_t *data, size_t n) {
    if (rd->cap - rd->w < n && rd->r > 0) {
        memmove(rd->buf, rd->buf + rd->r, rd->w - rd->r);
        rd->w -= rd->r;
        rd->r = 0;
    }
    size_t room = rd->cap - rd->w;
    if (n > room) {
        n = room;
    }
    if (n > 0) {
        memcpy(rd->buf + rd->w, data, n);
        rd->w += n;
    }
    return n;
}

/* discard consumes n buffered bytes as garbage. */
static void discard(cr_reader *rd, size_t n) {
    rd->r += n;
    rd->stats.garbage += n;
}

/* find returns the offset of the first sync marker in buf[r:w], or -1. */
static long find_sync(const cr_reader *rd) {
    const uint8_t *p = rd->buf + rd->r;
    size_t n = rd->w - rd->r;
    for (size_t i = 0; i + 4 <= n; i++) {
        if (p[i] == 0xA5 && p[i + 1] == 0x5A && p[i + 2] == 0x43 && p[i + 3] == 0x52) {
            return (long)i;
        }
    }
    return -1;
}

int cr_reader_next(cr_reader *rd, int eof, cr_packet *pkt) {
    for (;;) {
        size_t avail = rd->w - rd->r;
        long at = find_sync(rd);
        if (at < 0) {
            /* Keep a tail that may be the start of a marker split across
             * reads; at the end of the input nothing is kept. */
            size_t keep = avail < 3 ? avail : 3;
            if (eof) {
                keep = 0;
            }
            discard(rd, avail - keep);
            return 0;
        }
        discard(rd, (size_t)at);
        avail = rd->w - rd->r;
        if (avail < CR_PKT_HEADER_LEN) {
            if (eof) {
                discard(rd, avail); /* a partial header is not a candidate */
            }
            return 0;
        }
        const uint8_t *h = rd->buf + rd->r;
        uint16_t check = (uint16_t)(h[22] | h[23] << 8);
        if (cr_crc16(h + 4, 18) != check) {
            rd->stats.bad_header++;
            discard(rd, 1);
            continue;
        }
        uint32_t n = get32(h + 10);
        if (n > rd->max_payload) {
            rd->stats.too_large++;
            discard(rd, 1);
            continue;
        }
        size_t size = CR_PKT_OVERHEAD + (size_t)n;
        if (avail < size) {
            if (eof) {
                rd->stats.truncated++;
                discard(rd, 1);
                continue;
            }
            return 0;
        }
        uint32_t crc = cr_crc32(h + CR_PKT_HEADER_LEN, n);
        if (crc != get32(h + CR_PKT_HEADER_LEN + n)) {
            rd->stats.bad_crc++;
            discard(rd, 1);
            continue;
        }
        pkt->type = h[4];
        pkt->flags = h[5];
        pkt->seq = get32(h + 6);
        pkt->len = n;
        pkt->uptime_us = (h[5] & CR_PKT_FLAG_UPTIME) ? get64(h + 14) : 0;
        pkt->crc = crc;
        pkt->payload = h + CR_PKT_HEADER_LEN;
        rd->r += size;
        rd->stats.packets++;
        rd->stats.packet_bytes += size;
        return 1;
    }
}
