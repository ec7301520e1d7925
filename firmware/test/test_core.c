/*
 * Unit tests of the firmware's portable core (camrelay/src/core), built
 * on the host with gcc and the sanitizers:
 *   - camlink framing against the shared vectors in testdata/camlink, the
 *     same files internal/camlink's Go tests read: the encoder rebuilds
 *     every listed packet byte for byte, and the reader finds the listed
 *     packets and counters when fed whole, a byte at a time, at each split
 *     offset and in random chunks;
 *   - control parsing (cJSON) with good, clamped, refused, malformed,
 *     oversize and deeply nested messages; every ack must parse as JSON;
 *   - hello/status, backoff, pacing and LED blink codes.
 * Usage: test_core VECTOR_DIR
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../camrelay/src/core/backoff.h"
#include "../camrelay/src/core/blink.h"
#include "../camrelay/src/core/camlink.h"
#include "../camrelay/src/core/control.h"
#include "../camrelay/src/core/messages.h"
#include "../camrelay/src/core/pacing.h"
#include "cJSON.h"
#include "check.h"

/* ---------------------------------------------------------------- CRC */

static void test_crc(void) {
    const uint8_t *s = (const uint8_t *)"123456789";
    CHECK(cr_crc16(s, 9) == 0x29B1, "crc16 %04x", cr_crc16(s, 9));
    CHECK(cr_crc32(s, 9) == 0xCBF43926u, "crc32 %08x", cr_crc32(s, 9));
    CHECK(cr_crc32(s, 0) == 0, "crc32 of nothing %08x", cr_crc32(s, 0));
    uint32_t c = cr_crc32_update(0, s, 4);
    c = cr_crc32_update(c, s + 4, 5);
    CHECK(c == 0xCBF43926u, "crc32 in pieces %08x", c);
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t x = i;
        for (int b = 0; b < 8; b++) {
            x = (x & 1) ? (x >> 1) ^ 0xEDB88320u : x >> 1;
        }
        if (x != cr_crc32_table[i]) {
            CHECK(0, "crc32 table[%u] = %08x, want %08x", i, cr_crc32_table[i], x);
            break;
        }
    }
}

/* The example packet of docs/UART.md. */
static void test_doc_example(void) {
    static const uint8_t want[] = {
        0xa5, 0x5a, 0x43, 0x52, 0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00,
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x58, 0xb3, 0x7b, 0x7d, 0x43, 0xbf,
        0xa6, 0xa3};
    uint8_t out[64];
    size_t n = cr_pkt_encode(out, sizeof out, CR_PKT_JSON, 1, 0x01020304u,
                             0x1122334455667788ull, (const uint8_t *)"{}", 2);
    CHECK(n == sizeof want && memcmp(out, want, n) == 0, "docs/UART.md example: %zu bytes", n);
    CHECK(cr_pkt_encode(out, 29, CR_PKT_JSON, 0, 0, 0, (const uint8_t *)"{}", 2) == 0,
          "encode into a buffer one byte short");
    /* Without the flag, the uptime is not written. */
    n = cr_pkt_encode(out, sizeof out, CR_PKT_JSON, 0, 1, 0xFFFFull, (const uint8_t *)"{}", 2);
    CHECK(n == 30 && out[14] == 0 && out[15] == 0, "uptime written without its flag");
}

/* -------------------------------------------------------- the vectors */

typedef struct {
    unsigned type, flags;
    unsigned long seq, len, crc, offset;
    unsigned long long uptime;
} want_packet;

typedef struct {
    char name[128];
    uint8_t *data;
    size_t size;
    unsigned long bytes, max;
    unsigned long splits[64];
    int nsplits;
    want_packet packets[64];
    int npackets;
    cr_reader_stats stats;
    int have_stats;
} vector;

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf != NULL && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = n > 0 ? (size_t)n : 0;
    return buf;
}

static int load_vector(const char *dir, const char *name, vector *v) {
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.expect", dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        want_packet p;
        char key[32];
        unsigned long long n;
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        } else if (sscanf(line, "bytes %lu", &v->bytes) == 1) {
        } else if (sscanf(line, "max %lu", &v->max) == 1) {
        } else if (sscanf(line, "split %lu", &v->splits[v->nsplits]) == 1) {
            if (v->nsplits < 63) {
                v->nsplits++;
            }
        } else if (sscanf(line, "packet %u %lu %lu %lx %u %llu %lu", &p.type, &p.seq, &p.len,
                          &p.crc, &p.flags, &p.uptime, &p.offset) == 7) {
            if (v->npackets < 64) {
                v->packets[v->npackets++] = p;
            }
        } else if (sscanf(line, "stat %31s %llu", key, &n) == 2) {
            v->have_stats = 1;
            if (strcmp(key, "packets") == 0) v->stats.packets = n;
            else if (strcmp(key, "garbage") == 0) v->stats.garbage = n;
            else if (strcmp(key, "bad_header") == 0) v->stats.bad_header = n;
            else if (strcmp(key, "too_large") == 0) v->stats.too_large = n;
            else if (strcmp(key, "bad_crc") == 0) v->stats.bad_crc = n;
            else if (strcmp(key, "truncated") == 0) v->stats.truncated = n;
            else CHECK(0, "%s: unknown stat %s", name, key);
        } else {
            CHECK(0, "%s.expect: line not understood: %s", name, line);
        }
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    v->data = read_file(path, &v->size);
    return v->data != NULL ? 0 : -1;
}

/* The encoder rebuilds each listed packet from its fields and payload. */
static void check_encoder(const vector *v) {
    for (int i = 0; i < v->npackets; i++) {
        const want_packet *p = &v->packets[i];
        size_t size = CR_PKT_OVERHEAD + p->len;
        if (p->offset + size > v->size) {
            CHECK(0, "%s: packet %d lies outside the file", v->name, i);
            continue;
        }
        const uint8_t *raw = v->data + p->offset;
        uint8_t *out = malloc(size);
        size_t n = cr_pkt_encode(out, size, (uint8_t)p->type, (uint8_t)p->flags, (uint32_t)p->seq,
                                 p->uptime, raw + CR_PKT_HEADER_LEN, p->len);
        CHECK(n == size, "%s: packet %d encoded to %zu bytes, want %zu", v->name, i, n, size);
        /* A packet that carries an uptime without its flag (reserved-bits)
         * cannot be rebuilt by a conforming encoder, which writes 0 there:
         * compare all but the uptime and the header check. */
        int odd = !(p->flags & CR_PKT_FLAG_UPTIME) && memcmp(raw + 14, "\0\0\0\0\0\0\0\0", 8) != 0;
        int same = odd ? memcmp(out, raw, 14) == 0 && memcmp(out + 24, raw + 24, size - 24) == 0
                       : memcmp(out, raw, size) == 0;
        CHECK(same, "%s: packet %d (seq %lu) is not byte-identical to the vector", v->name, i, p->seq);
        CHECK(cr_crc32(raw + CR_PKT_HEADER_LEN, p->len) == p->crc, "%s: packet %d crc", v->name, i);
        free(out);
    }
}

/* read_in feeds data in pieces that end at each cut (sorted), checking
 * the packets as they come, then ends the input. */
static void read_in(const vector *v, const char *how, const size_t *cuts, int ncuts) {
    size_t cap = v->max + CR_PKT_OVERHEAD;
    uint8_t *buf = malloc(cap);
    cr_reader rd;
    CHECK(cr_reader_init(&rd, buf, cap, (uint32_t)v->max) == 0, "init");
    int got = 0, bad = 0;
    size_t pos = 0;
    for (int c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : v->size;
        if (end > v->size) end = v->size;
        int eof = c == ncuts;
        for (;;) {
            if (pos < end) {
                pos += cr_reader_feed(&rd, v->data + pos, end - pos);
            }
            cr_packet p;
            int any = 0;
            while (cr_reader_next(&rd, eof && pos == end, &p)) {
                any = 1;
                if (got >= v->npackets) {
                    bad = 1;
                    CHECK(0, "%s (%s): extra packet seq %u", v->name, how, (unsigned)p.seq);
                } else {
                    const want_packet *w = &v->packets[got];
                    int ok = p.type == w->type && p.seq == w->seq && p.len == w->len &&
                             p.crc == w->crc && p.flags == w->flags && p.uptime_us == w->uptime &&
                             memcmp(p.payload, v->data + w->offset + CR_PKT_HEADER_LEN, p.len) == 0;
                    if (!ok && !bad) {
                        CHECK(0, "%s (%s): packet %d is type %u seq %u len %u crc %08x flags %u "
                                 "uptime %llu, want type %u seq %lu len %lu crc %08lx flags %u uptime %llu",
                              v->name, how, got, p.type, (unsigned)p.seq, (unsigned)p.len,
                              (unsigned)p.crc, p.flags, (unsigned long long)p.uptime_us, w->type,
                              w->seq, w->len, w->crc, w->flags, w->uptime);
                        bad = 1;
                    }
                }
                got++;
            }
            if (pos == end && !any) {
                break;
            }
        }
    }
    CHECK(got == v->npackets, "%s (%s): %d packets, want %d", v->name, how, got, v->npackets);
    const cr_reader_stats *s = &rd.stats, *w = &v->stats;
    CHECK(s->packets == w->packets && s->garbage == w->garbage && s->bad_header == w->bad_header &&
              s->too_large == w->too_large && s->bad_crc == w->bad_crc && s->truncated == w->truncated,
          "%s (%s): stats packets %llu garbage %llu bad_header %llu too_large %llu bad_crc %llu "
          "truncated %llu, want %llu %llu %llu %llu %llu %llu",
          v->name, how, (unsigned long long)s->packets, (unsigned long long)s->garbage,
          (unsigned long long)s->bad_header, (unsigned long long)s->too_large,
          (unsigned long long)s->bad_crc, (unsigned long long)s->truncated,
          (unsigned long long)w->packets, (unsigned long long)w->garbage,
          (unsigned long long)w->bad_header, (unsigned long long)w->too_large,
          (unsigned long long)w->bad_crc, (unsigned long long)w->truncated);
    CHECK(s->packet_bytes + s->garbage == v->size, "%s (%s): %llu packet bytes + %llu garbage != %zu",
          v->name, how, (unsigned long long)s->packet_bytes, (unsigned long long)s->garbage, v->size);
    free(buf);
}

static void check_reader(const vector *v) {
    read_in(v, "whole", NULL, 0);
    size_t *cuts = malloc((v->size + 1) * sizeof *cuts);
    for (size_t i = 0; i < v->size; i++) {
        cuts[i] = i + 1;
    }
    read_in(v, "byte by byte", cuts, (int)v->size);
    if (v->nsplits > 0) {
        for (int i = 0; i < v->nsplits; i++) {
            cuts[i] = v->splits[i];
        }
        read_in(v, "at the split offsets", cuts, v->nsplits);
    }
    uint32_t rng = 12345;
    int n = 0;
    for (size_t at = 0; at < v->size; n++) {
        at += 1 + cr_rand32(&rng) % 97;
        cuts[n] = at;
    }
    read_in(v, "in random chunks", cuts, n);
    free(cuts);
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_vectors(const char *dir) {
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open the vector directory %s", dir);
    if (d == NULL) {
        return;
    }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        size_t l = strlen(e->d_name);
        if (l > 7 && strcmp(e->d_name + l - 7, ".expect") == 0) {
            names[n] = malloc(l - 6);
            memcpy(names[n], e->d_name, l - 7);
            names[n][l - 7] = '\0';
            n++;
        }
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], by_name);
    CHECK(n >= 10, "only %d vectors in %s", n, dir);
    for (int i = 0; i < n; i++) {
        vector *v = malloc(sizeof *v);
        if (load_vector(dir, names[i], v) != 0) {
            CHECK(0, "vector %s: cannot read its files", names[i]);
        } else {
            CHECK(v->bytes == v->size, "%s: bytes %lu, file has %zu", v->name, v->bytes, v->size);
            CHECK(v->max > 0 && v->have_stats, "%s: no max or no stats", v->name);
            check_encoder(v);
            check_reader(v);
        }
        free(v->data);
        free(v);
        free(names[i]);
    }
    printf("camlink: %d shared vectors checked\n", n);
}

/* The reader's invariants on random input: every byte counted once, no
 * packet where none was written, packets written between noise found. */
static void test_reader_random(void) {
    uint32_t rng = 7;
    uint8_t buf[256 + CR_PKT_OVERHEAD];
    for (int round = 0; round < 300; round++) {
        uint8_t stream[4096];
        size_t n = 0;
        int written = 0;
        while (n < sizeof stream - 400) {
            uint32_t r = cr_rand32(&rng);
            if (r % 3 == 0) {
                uint8_t payload[200];
                size_t len = cr_rand32(&rng) % sizeof payload;
                for (size_t i = 0; i < len; i++) payload[i] = (uint8_t)cr_rand32(&rng);
                n += cr_pkt_encode(stream + n, sizeof stream - n, CR_PKT_JPEG, 1, (uint32_t)written,
                                   r, payload, len);
                written++;
            } else {
                size_t len = cr_rand32(&rng) % 50;
                for (size_t i = 0; i < len; i++) {
                    uint8_t b = (uint8_t)cr_rand32(&rng);
                    stream[n++] = b == 0xA5 ? 0xA4 : b; /* noise never holds a marker */
                }
            }
        }
        cr_reader rd;
        cr_reader_init(&rd, buf, sizeof buf, 256);
        size_t pos = 0;
        int got = 0;
        while (pos < n) {
            size_t chunk = 1 + cr_rand32(&rng) % 64;
            if (chunk > n - pos) chunk = n - pos;
            size_t done = 0;
            while (done < chunk) {
                done += cr_reader_feed(&rd, stream + pos + done, chunk - done);
                cr_packet p;
                while (cr_reader_next(&rd, 0, &p)) {
                    if ((int)p.seq != got) {
                        CHECK(0, "round %d: packet seq %u, want %d", round, (unsigned)p.seq, got);
                    }
                    got++;
                }
            }
            pos += chunk;
        }
        cr_packet p;
        while (cr_reader_next(&rd, 1, &p)) got++;
        if (got != written || rd.stats.packet_bytes + rd.stats.garbage != n) {
            CHECK(0, "round %d: %d of %d packets, %llu+%llu of %zu bytes", round, got, written,
                  (unsigned long long)rd.stats.packet_bytes, (unsigned long long)rd.stats.garbage, n);
            return;
        }
    }
    CHECK(1, "random streams");
}

/* ------------------------------------------------------------ control */

static const cr_camera_limits limits_svga = {
    11 /* SVGA */, (1u << CR_FRAMESIZE_COUNT) - 1 - (1u << 2) /* no 128X128 */, 1};
static const cr_camera_limits limits_noled = {15 /* UXGA */, (1u << CR_FRAMESIZE_COUNT) - 1, 0};

typedef struct {
    const char *name;
    const char *in;
    const cr_camera_limits *lim;
    cr_msg_kind kind;
    /* CONTROL: the exact ack; DEMAND: "idle"/"full" or the error;
     * INVALID: a part of the error. */
    const char *want;
} control_case;

static const control_case control_cases[] = {
    {"the protocol's example", "{\"type\":\"control\",\"id\":7,\"framesize\":\"SVGA\",\"quality\":10,\"vflip\":true,\"led\":255}",
     &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":true,\"applied\":{\"framesize\":\"SVGA\",\"quality\":10,\"vflip\":true,\"led\":255}}"},
    {"every setting", "{\"id\":1,\"led\":0,\"hmirror\":false,\"vflip\":0,\"saturation\":-2,\"contrast\":2,\"brightness\":1,\"quality\":63,\"framesize\":\"qvga\",\"type\":\"control\"}",
     &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":1,\"ok\":true,\"applied\":{\"framesize\":\"QVGA\",\"quality\":63,\"brightness\":1,\"contrast\":2,\"saturation\":-2,\"vflip\":false,\"hmirror\":false,\"led\":0}}"},
    {"nothing to change", "{\"type\":\"control\",\"id\":3}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":3,\"ok\":true,\"applied\":{}}"},
    {"clamped high", "{\"type\":\"control\",\"id\":8,\"quality\":99,\"brightness\":3,\"led\":1000}", &limits_svga,
     CR_MSG_CONTROL, "{\"type\":\"ack\",\"id\":8,\"ok\":true,\"applied\":{\"quality\":63,\"brightness\":2,\"led\":255}}"},
    {"clamped low", "{\"type\":\"control\",\"id\":9,\"quality\":-5,\"contrast\":-9,\"saturation\":-1e300}", &limits_svga,
     CR_MSG_CONTROL, "{\"type\":\"ack\",\"id\":9,\"ok\":true,\"applied\":{\"quality\":0,\"contrast\":-2,\"saturation\":-2}}"},
    {"huge number", "{\"type\":\"control\",\"id\":9,\"quality\":1e999}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":9,\"ok\":true,\"applied\":{\"quality\":63}}"},
    {"whole number as float", "{\"type\":\"control\",\"id\":10,\"quality\":12.0,\"hmirror\":1}", &limits_svga,
     CR_MSG_CONTROL, "{\"type\":\"ack\",\"id\":10,\"ok\":true,\"applied\":{\"quality\":12,\"hmirror\":true}}"},
    {"the largest id", "{\"type\":\"control\",\"id\":9007199254740992}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":9007199254740992,\"ok\":true,\"applied\":{}}"},
    {"duplicate key: the last wins", "{\"type\":\"control\",\"id\":4,\"quality\":10,\"quality\":20}", &limits_svga,
     CR_MSG_CONTROL, "{\"type\":\"ack\",\"id\":4,\"ok\":true,\"applied\":{\"quality\":20}}"},
    {"above the init size", "{\"type\":\"control\",\"id\":7,\"framesize\":\"UXGA\"}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"framesize UXGA is above the size the camera was started with (SVGA)\"}"},
    {"unknown to an old driver", "{\"type\":\"control\",\"id\":7,\"framesize\":\"128x128\"}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"framesize 128X128 is not supported by this camera driver\"}"},
    {"not a frame size", "{\"type\":\"control\",\"id\":7,\"framesize\":\"HUGE\"}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"framesize must be a frame size name such as \\\"VGA\\\"\"}"},
    {"frame size as a number", "{\"type\":\"control\",\"id\":7,\"framesize\":8}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"framesize must be a frame size name such as \\\"VGA\\\"\"}"},
    {"quality as a string", "{\"type\":\"control\",\"id\":7,\"quality\":\"10\"}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"quality must be a whole number from 0 to 63\"}"},
    {"quality with a fraction", "{\"type\":\"control\",\"id\":7,\"quality\":10.5}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"quality must be a whole number from 0 to 63\"}"},
    {"quality null", "{\"type\":\"control\",\"id\":7,\"quality\":null}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"quality must be a whole number from 0 to 63\"}"},
    {"brightness as an object", "{\"type\":\"control\",\"id\":7,\"brightness\":{}}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"brightness must be a whole number from -2 to 2\"}"},
    {"vflip 2", "{\"type\":\"control\",\"id\":7,\"vflip\":2}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"vflip must be true or false (or 1 or 0)\"}"},
    {"hmirror as a string", "{\"type\":\"control\",\"id\":7,\"hmirror\":\"yes\"}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"hmirror must be true or false (or 1 or 0)\"}"},
    {"all or nothing", "{\"type\":\"control\",\"id\":7,\"quality\":10,\"vflip\":\"no\"}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"vflip must be true or false (or 1 or 0)\"}"},
    {"no flash LED", "{\"type\":\"control\",\"id\":7,\"led\":10}", &limits_noled, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"this board has no flash LED\"}"},
    {"unknown key", "{\"type\":\"control\",\"id\":7,\"zoom\":2}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"unknown setting \\\"zoom\\\" (known: framesize, quality, brightness, contrast, saturation, vflip, hmirror, led)\"}"},
    {"unknown key needing escapes", "{\"type\":\"control\",\"id\":7,\"a\\\"b\\\\c\\n\":2}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"unknown setting \\\"a\\\"b\\\\c\\u000a\\\" (known: framesize, quality, brightness, contrast, saturation, vflip, hmirror, led)\"}"},
    {"long unknown key", "{\"type\":\"control\",\"id\":7,\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":2}", &limits_svga,
     CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":7,\"ok\":false,\"error\":\"unknown setting \\\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\\\" (known: framesize, quality, brightness, contrast, saturation, vflip, hmirror, led)\"}"},
    {"no id", "{\"type\":\"control\",\"quality\":10}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":0,\"ok\":false,\"error\":\"control command without a numeric id\"}"},
    {"id as a string", "{\"type\":\"control\",\"id\":\"7\"}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":0,\"ok\":false,\"error\":\"control command without a numeric id\"}"},
    {"negative id", "{\"type\":\"control\",\"id\":-1}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":0,\"ok\":false,\"error\":\"control command without a numeric id\"}"},
    {"fractional id", "{\"type\":\"control\",\"id\":1.5}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":0,\"ok\":false,\"error\":\"control command without a numeric id\"}"},
    {"demand idle", "{\"type\":\"demand\",\"rate\":\"idle\"}", &limits_svga, CR_MSG_DEMAND, "idle"},
    {"demand full", "{\"type\":\"demand\",\"rate\":\"full\"}", &limits_svga, CR_MSG_DEMAND, "full"},
    {"demand nonsense", "{\"type\":\"demand\",\"rate\":\"fast\"}", &limits_svga, CR_MSG_DEMAND,
     "demand rate must be \"idle\" or \"full\""},
    {"demand without a rate", "{\"type\":\"demand\"}", &limits_svga, CR_MSG_DEMAND,
     "demand rate must be \"idle\" or \"full\""},
    {"another type", "{\"type\":\"pong\",\"t\":1}", &limits_svga, CR_MSG_OTHER, ""},
    {"brackets inside strings do not nest", "{\"type\":\"note\",\"s\":\"[[[[[[[[[[[[{{{{{{{{{{\\\"[[[[\"}", &limits_svga, CR_MSG_OTHER, ""},
    {"cut short", "{\"type\":\"control\",\"id\":7,", &limits_svga, CR_MSG_INVALID, "not JSON"},
    {"empty", "", &limits_svga, CR_MSG_INVALID, "not JSON"},
    {"garbage", "\xff\xfe\x01 hello", &limits_svga, CR_MSG_INVALID, "not JSON"},
    {"an array", "[{\"type\":\"control\"}]", &limits_svga, CR_MSG_INVALID, "not a JSON object"},
    {"a string", "\"control\"", &limits_svga, CR_MSG_INVALID, "not a JSON object"},
    {"type as a number", "{\"type\":5}", &limits_svga, CR_MSG_INVALID, "not a JSON object with a string"},
    {"no type", "{\"id\":7,\"quality\":10}", &limits_svga, CR_MSG_INVALID, "not a JSON object with a string"},
    {"too deep", "{\"type\":\"control\",\"id\":1,\"a\":[[[[[[[[1]]]]]]]]}", &limits_svga, CR_MSG_INVALID, "nests deeper than 8"},
    {"deep enough", "{\"type\":\"control\",\"id\":1,\"a\":[[[[[[1]]]]]]}", &limits_svga, CR_MSG_CONTROL,
     "{\"type\":\"ack\",\"id\":1,\"ok\":false,\"error\":\"unknown setting \\\"a\\\" (known: framesize, quality, brightness, contrast, saturation, vflip, hmirror, led)\"}"},
};

/* check_json_ack parses an ack back: it must be valid JSON with the id. */
static void check_json_ack(const char *name, const char *ack, uint64_t id) {
    cJSON *j = cJSON_Parse(ack);
    const cJSON *t = j ? cJSON_GetObjectItemCaseSensitive(j, "type") : NULL;
    const cJSON *i = j ? cJSON_GetObjectItemCaseSensitive(j, "id") : NULL;
    CHECK(j != NULL && cJSON_IsString(t) && strcmp(t->valuestring, "ack") == 0 && cJSON_IsNumber(i) &&
              (uint64_t)i->valuedouble == id,
          "%s: the ack does not parse back: %s", name, ack);
    cJSON_Delete(j);
}

static void run_control_case(const control_case *c, const char *text, size_t len) {
    cr_message m;
    /* The parser reads text[len]: hand it exactly len + 1 bytes, so the
     * sanitizer catches any read beyond. */
    char *copy = malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    cr_msg_kind k = cr_parse_message(copy, len, c->lim, &m);
    free(copy);
    CHECK(k == c->kind && m.kind == k, "%s: kind %d, want %d (error: %s)", c->name, k, c->kind, m.error);
    char out[CR_MAX_OUT];
    switch (c->kind) {
    case CR_MSG_CONTROL:
        if (m.error[0] != '\0') {
            cr_ack_error(out, sizeof out, m.id, m.error);
        } else {
            cr_ack_ok(out, sizeof out, m.id, &m.settings);
        }
        CHECK(strcmp(out, c->want) == 0, "%s:\n   got %s\n  want %s", c->name, out, c->want);
        check_json_ack(c->name, out, m.id);
        break;
    case CR_MSG_DEMAND:
        if (m.error[0] != '\0') {
            CHECK(strcmp(m.error, c->want) == 0, "%s: error %s", c->name, m.error);
        } else {
            CHECK(strcmp(m.idle ? "idle" : "full", c->want) == 0, "%s: idle %d", c->name, m.idle);
        }
        break;
    case CR_MSG_INVALID:
        CHECK(strstr(m.error, c->want) != NULL, "%s: error %s, want it to mention %s", c->name, m.error, c->want);
        break;
    case CR_MSG_OTHER:
        CHECK(m.error[0] == '\0', "%s: error %s", c->name, m.error);
        break;
    }
}

static void test_control(void) {
    for (size_t i = 0; i < sizeof control_cases / sizeof control_cases[0]; i++) {
        run_control_case(&control_cases[i], control_cases[i].in, strlen(control_cases[i].in));
    }

    /* Size: a message of exactly CR_MAX_MESSAGE bytes is parsed, one byte
     * more is refused before cJSON sees it. */
    char *big = malloc(CR_MAX_MESSAGE + 2);
    const char *head = "{\"type\":\"demand\",\"rate\":\"idle\",\"pad\":\"";
    size_t hl = strlen(head);
    memcpy(big, head, hl);
    memset(big + hl, 'x', CR_MAX_MESSAGE - hl - 2);
    memcpy(big + CR_MAX_MESSAGE - 2, "\"}", 2);
    control_case at_limit = {"15 KiB exactly", NULL, &limits_svga, CR_MSG_DEMAND, "idle"};
    run_control_case(&at_limit, big, CR_MAX_MESSAGE);
    memmove(big + hl + 1, big + hl, CR_MAX_MESSAGE - hl);
    control_case over = {"15 KiB + 1", NULL, &limits_svga, CR_MSG_INVALID, "larger than 15360 bytes"};
    run_control_case(&over, big, CR_MAX_MESSAGE + 1);
    free(big);

    /* Nesting far beyond cJSON's own limit, refused without recursion. */
    size_t depth = 7000; /* 14000 bytes: under the size limit */
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    control_case nested = {"7000 levels", NULL, &limits_svga, CR_MSG_INVALID, "nests deeper"};
    run_control_case(&nested, deep, 2 * depth);
    free(deep);

    /* A NUL inside the message. */
    control_case nul = {"NUL inside", NULL, &limits_svga, CR_MSG_INVALID, "NUL"};
    run_control_case(&nul, "{\"type\":\"demand\",\0\"rate\":\"idle\"}", 31);

    /* idle_fps */
    cr_message m;
    const char *d = "{\"type\":\"demand\",\"rate\":\"idle\",\"idle_fps\":0.5}";
    cr_parse_message(d, strlen(d), &limits_svga, &m);
    CHECK(m.kind == CR_MSG_DEMAND && m.idle && m.idle_fps_milli == 500, "idle_fps %u", m.idle_fps_milli);

    /* Random bytes and random mutations of good messages: no crash, no
     * leak, no read out of bounds (the sanitizers watch). */
    uint32_t rng = 99;
    for (int i = 0; i < 20000; i++) {
        const char *base = control_cases[i % (sizeof control_cases / sizeof control_cases[0])].in;
        size_t len = strlen(base);
        char *buf = malloc(len + 1);
        memcpy(buf, base, len + 1);
        for (int k = 0, n = 1 + (int)(cr_rand32(&rng) % 4); k < n && len > 0; k++) {
            buf[cr_rand32(&rng) % len] = (char)(1 + cr_rand32(&rng) % 255);
        }
        cr_parse_message(buf, len, &limits_svga, &m);
        if (m.kind == CR_MSG_CONTROL) {
            char out[CR_MAX_OUT];
            size_t n = m.error[0] ? cr_ack_error(out, sizeof out, m.id, m.error)
                                  : cr_ack_ok(out, sizeof out, m.id, &m.settings);
            cJSON *j = n > 0 ? cJSON_Parse(out) : NULL;
            if (j == NULL) {
                CHECK(0, "mutated message %s gave an ack that does not parse: %s", buf, out);
            }
            cJSON_Delete(j);
        }
        free(buf);
    }
}

static void test_framesizes(void) {
    CHECK(cr_framesize_index("VGA") == 10 && cr_framesize_index("vga") == 10, "VGA");
    CHECK(cr_framesize_index("96x96") == 0 && cr_framesize_index("5MP") == 24, "ends");
    CHECK(cr_framesize_index("VG") == -1 && cr_framesize_index("VGAA") == -1 &&
              cr_framesize_index("") == -1 && cr_framesize_index(NULL) == -1,
          "near misses");
    for (int i = 0; i < CR_FRAMESIZE_COUNT; i++) {
        CHECK(cr_framesize_index(cr_framesizes[i].name) == i, "%s", cr_framesizes[i].name);
    }
}

/* ----------------------------------------------------------- messages */

static void test_messages(void) {
    char out[CR_MAX_OUT];
    cr_hello h = {"1.0.0", "ai-thinker", "OV2640", 10, 15, 12, 1, "BROWNOUT", "ws"};
    cr_hello_json(out, sizeof out, &h);
    CHECK(strcmp(out, "{\"type\":\"hello\",\"fw\":\"1.0.0\",\"board\":\"ai-thinker\",\"sensor\":\"OV2640\","
                      "\"framesize\":\"VGA\",\"max_framesize\":\"UXGA\",\"quality\":12,\"psram\":true,"
                      "\"reset\":\"BROWNOUT\",\"link\":\"ws\"}") == 0,
          "hello %s", out);
    cr_status s = {1, -61, 81234, 198, 0, 0, 3600};
    cr_status_json(out, sizeof out, &s);
    CHECK(strcmp(out, "{\"type\":\"status\",\"rssi\":-61,\"heap\":81234,\"fps\":19.8,\"failed\":0,"
                      "\"rate\":\"full\",\"uptime\":3600}") == 0,
          "status %s", out);
    cr_status u = {0, 0, 5000, 5, 3, 1, 1};
    cr_status_json(out, sizeof out, &u);
    CHECK(strcmp(out, "{\"type\":\"status\",\"heap\":5000,\"fps\":0.5,\"failed\":3,\"rate\":\"idle\",\"uptime\":1}") == 0,
          "status without rssi %s", out);
    /* Too small: nothing, rather than a message cut in the middle. */
    CHECK(cr_hello_json(out, 20, &h) == 0 && out[0] == '\0', "a hello that does not fit");
    size_t n = cr_ack_error(out, sizeof out, 5, "x");
    CHECK(n == strlen("{\"type\":\"ack\",\"id\":5,\"ok\":false,\"error\":\"x\"}") && cr_ack_error(out, n, 5, "x") == 0 &&
              cr_ack_error(out, n + 1, 5, "x") == n,
          "an ack exactly fitting its buffer");
}

/* ------------------------------------------------- backoff and pacing */

static void test_backoff(void) {
    cr_backoff a, b;
    cr_backoff_init(&a, 500, 30000, 42);
    cr_backoff_init(&b, 500, 30000, 42);
    uint64_t ceil = 500;
    for (int i = 0; i < 40; i++) {
        uint32_t d = cr_backoff_next(&a);
        CHECK(d == cr_backoff_next(&b), "same seed, same delays");
        CHECK(d >= ceil / 10 && d <= ceil, "attempt %d: %u not in [%llu, %llu]", i, d,
              (unsigned long long)(ceil / 10), (unsigned long long)ceil);
        ceil = ceil * 2 > 30000 ? 30000 : ceil * 2;
    }
    cr_backoff_reset(&a);
    CHECK(cr_backoff_next(&a) <= 500, "reset starts again from the minimum");
    cr_backoff c;
    cr_backoff_init(&c, 500, 30000, 43);
    cr_backoff_init(&a, 500, 30000, 42);
    int differ = 0;
    for (int i = 0; i < 10; i++) differ |= cr_backoff_next(&a) != cr_backoff_next(&c);
    CHECK(differ, "another seed, other delays (jitter)");
    /* A pinned sequence: the jitter is deterministic with a seed. */
    cr_backoff_init(&a, 500, 30000, 1);
    uint32_t seq[6];
    for (int i = 0; i < 6; i++) seq[i] = cr_backoff_next(&a);
    printf("backoff: seed 1 gives %u %u %u %u %u %u ms\n", seq[0], seq[1], seq[2], seq[3], seq[4], seq[5]);
    cr_backoff_init(&a, 0, 0, 0);
    CHECK(cr_backoff_next(&a) <= 1, "zero settings do not spin or divide by zero");
    a.attempt = UINT32_MAX;
    CHECK(cr_backoff_next(&a) <= a.max_ms, "no overflow after very many attempts");
}

static void test_pacing(void) {
    cr_pacer p;
    uint32_t t = 0xFFFFF000u; /* millis() about to wrap */
    cr_pacer_init(&p, 10000 /* 10 fps */, 1000 /* 1 fps */, t);
    CHECK(cr_pacer_wait_ms(&p, t) == 0, "the first frame is due at once");
    cr_pacer_sent(&p, t);
    CHECK(cr_pacer_wait_ms(&p, t) == 100 && cr_pacer_wait_ms(&p, t + 60) == 40 &&
              cr_pacer_wait_ms(&p, t + 100) == 0,
          "10 fps");
    int frames = 0;
    for (uint32_t now = t; now != t + 10001; now++) { /* 10 s across the wrap */
        if (cr_pacer_wait_ms(&p, now) == 0) {
            cr_pacer_sent(&p, now);
            frames++;
        }
    }
    CHECK(frames == 100, "10 s at 10 fps gave %d frames", frames);
    t += 10000;
    cr_pacer_set_idle(&p, 1, t);
    cr_pacer_sent(&p, t);
    CHECK(cr_pacer_interval_ms(&p) == 1000 && cr_pacer_wait_ms(&p, t + 500) == 500, "idle at 1 fps");
    cr_pacer_set_idle(&p, 0, t + 500);
    CHECK(cr_pacer_wait_ms(&p, t + 500) == 0, "a viewer arrives: a frame is due at once");
    cr_pacer_sent(&p, t + 5000); /* a frame that took long (capture timeout) */
    CHECK(cr_pacer_wait_ms(&p, t + 5000) == 100, "no burst after falling behind");
    cr_pacer_set_idle_fps(&p, 10); /* 0.01 fps: one a 100 s */
    CHECK(p.idle_ms == CR_IDLE_MAX_INTERVAL_MS, "the idle interval is capped so the camera stays online");
    cr_pacer_set_idle_fps(&p, 1000000); /* faster than the full rate */
    CHECK(p.idle_ms == p.full_ms, "the idle rate is never above the full rate");
    cr_pacer_init(&p, 0, 0, 0);
    cr_pacer_sent(&p, 5);
    CHECK(cr_pacer_wait_ms(&p, 5) == 0 && p.idle_ms == 1000, "max fps 0: no limit; idle default 1 fps");

    cr_fps_meter m;
    cr_fps_start(&m, 0xFFFFFF00u);
    m.frames = 99;
    CHECK(cr_fps_take(&m, 0xFFFFFF00u + 5000) == 198, "19.8 fps");
    CHECK(cr_fps_take(&m, 0xFFFFFF00u + 5000) == 0 && m.frames == 0, "a new period");
}

static void test_blink(void) {
    for (int code = CR_BLINK_STREAMING; code <= CR_BLINK_CAMERA_ERROR; code++) {
        int flashes = 0, prev = 0;
        for (uint32_t t = 0; t < CR_BLINK_PERIOD_MS; t++) {
            int on = cr_blink_on((cr_blink_code)code, t);
            flashes += on && !prev;
            prev = on;
        }
        CHECK(flashes == code, "code %d flashes %d times", code, flashes);
    }
    CHECK(cr_blink_on(CR_BLINK_SOLID, 1234) && !cr_blink_on(CR_BLINK_OFF, 0), "solid and off");
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "../testdata/camlink";
    test_crc();
    test_doc_example();
    test_vectors(dir);
    test_reader_random();
    test_framesizes();
    test_control();
    test_messages();
    test_backoff();
    test_pacing();
    test_blink();
    return check_summary("firmware core");
}
