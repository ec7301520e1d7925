/* messages: JSON messages to the gateway; see messages.h. */
#include "messages.h"

#include <string.h>

/* jw is a bounded JSON writer: once something does not fit, it stays
 * failed, and the message is not sent rather than cut. */
typedef struct {
    char *buf;
    size_t cap, len;
    int bad;
} jw;

static void jw_raw(jw *w, const char *s) {
    size_t n = strlen(s);
    if (w->bad || w->cap - w->len <= n) {
        w->bad = 1;
        return;
    }
    memcpy(w->buf + w->len, s, n + 1);
    w->len += n;
}

static void jw_u64(jw *w, uint64_t v) {
    char tmp[24];
    char *p = tmp + sizeof tmp - 1;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    jw_raw(w, p);
}

static void jw_int(jw *w, int v) {
    if (v < 0) {
        jw_raw(w, "-");
        jw_u64(w, (uint64_t)(-(int64_t)v));
    } else {
        jw_u64(w, (uint64_t)v);
    }
}

static void jw_str(jw *w, const char *s) {
    static const char hex[] = "0123456789abcdef";
    jw_raw(w, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char e[7];
        if (*p == '"' || *p == '\\') {
            e[0] = '\\';
            e[1] = (char)*p;
            e[2] = '\0';
        } else if (*p < 0x20) {
            memcpy(e, "\\u00", 4);
            e[4] = hex[*p >> 4];
            e[5] = hex[*p & 15];
            e[6] = '\0';
        } else {
            e[0] = (char)*p;
            e[1] = '\0';
        }
        jw_raw(w, e);
    }
    jw_raw(w, "\"");
}

static void jw_key(jw *w, int *first, const char *k) {
    jw_raw(w, *first ? "\"" : ",\"");
    *first = 0;
    jw_raw(w, k);
    jw_raw(w, "\":");
}

static size_t jw_end(jw *w) {
    if (w->bad) {
        if (w->cap > 0) {
            w->buf[0] = '\0';
        }
        return 0;
    }
    return w->len;
}

static jw jw_start(char *out, size_t cap) {
    jw w = {out, cap, 0, 0};
    if (cap > 0) {
        out[0] = '\0';
    } else {
        w.bad = 1;
    }
    return w;
}

static void jw_ack_head(jw *w, uint64_t id, int ok) {
    jw_raw(w, "{\"type\":\"ack\",\"id\":");
    jw_u64(w, id);
    jw_raw(w, ok ? ",\"ok\":true" : ",\"ok\":false");
}

size_t cr_ack_ok(char *out, size_t cap, uint64_t id, const cr_settings *a) {
    jw w = jw_start(out, cap);
    jw_ack_head(&w, id, 1);
    jw_raw(&w, ",\"applied\":{");
    int first = 1;
    if (a->present & CR_SET_FRAMESIZE) {
        jw_key(&w, &first, "framesize");
        jw_str(&w, a->framesize >= 0 && a->framesize < CR_FRAMESIZE_COUNT
                       ? cr_framesizes[a->framesize].name : "");
    }
    const struct {
        unsigned bit;
        const char *key;
        int value;
        int boolean;
    } fields[] = {
        {CR_SET_QUALITY, "quality", a->quality, 0},
        {CR_SET_BRIGHTNESS, "brightness", a->brightness, 0},
        {CR_SET_CONTRAST, "contrast", a->contrast, 0},
        {CR_SET_SATURATION, "saturation", a->saturation, 0},
        {CR_SET_VFLIP, "vflip", a->vflip, 1},
        {CR_SET_HMIRROR, "hmirror", a->hmirror, 1},
        {CR_SET_LED, "led", a->led, 0},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (a->present & fields[i].bit) {
            jw_key(&w, &first, fields[i].key);
            if (fields[i].boolean) {
                jw_raw(&w, fields[i].value ? "true" : "false");
            } else {
                jw_int(&w, fields[i].value);
            }
        }
    }
    jw_raw(&w, "}}");
    return jw_end(&w);
}

size_t cr_ack_error(char *out, size_t cap, uint64_t id, const char *error) {
    jw w = jw_start(out, cap);
    jw_ack_head(&w, id, 0);
    jw_raw(&w, ",\"error\":");
    jw_str(&w, error);
    jw_raw(&w, "}");
    return jw_end(&w);
}

static const char *fs_name(int i) {
    return i >= 0 && i < CR_FRAMESIZE_COUNT ? cr_framesizes[i].name : "";
}

size_t cr_hello_json(char *out, size_t cap, const cr_hello *h) {
    jw w = jw_start(out, cap);
    jw_raw(&w, "{\"type\":\"hello\",\"fw\":");
    jw_str(&w, h->fw);
    jw_raw(&w, ",\"board\":");
    jw_str(&w, h->board);
    jw_raw(&w, ",\"sensor\":");
    jw_str(&w, h->sensor);
    jw_raw(&w, ",\"framesize\":");
    jw_str(&w, fs_name(h->framesize));
    jw_raw(&w, ",\"max_framesize\":");
    jw_str(&w, fs_name(h->max_framesize));
    jw_raw(&w, ",\"quality\":");
    jw_int(&w, h->quality);
    jw_raw(&w, h->psram ? ",\"psram\":true" : ",\"psram\":false");
    jw_raw(&w, ",\"reset\":");
    jw_str(&w, h->reset);
    jw_raw(&w, ",\"link\":");
    jw_str(&w, h->link);
    jw_raw(&w, "}");
    return jw_end(&w);
}

size_t cr_status_json(char *out, size_t cap, const cr_status *s) {
    jw w = jw_start(out, cap);
    jw_raw(&w, "{\"type\":\"status\"");
    if (s->has_rssi) {
        jw_raw(&w, ",\"rssi\":");
        jw_int(&w, s->rssi);
    }
    jw_raw(&w, ",\"heap\":");
    jw_u64(&w, s->heap);
    jw_raw(&w, ",\"fps\":");
    jw_u64(&w, s->fps_tenths / 10);
    jw_raw(&w, ".");
    jw_u64(&w, s->fps_tenths % 10);
    jw_raw(&w, ",\"failed\":");
    jw_u64(&w, s->failed);
    jw_raw(&w, s->idle ? ",\"rate\":\"idle\"" : ",\"rate\":\"full\"");
    jw_raw(&w, ",\"uptime\":");
    jw_u64(&w, s->uptime_s);
    jw_raw(&w, "}");
    return jw_end(&w);
}
