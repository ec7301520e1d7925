/* control: parsing and validation of the gateway's messages; see control.h. */
#include "control.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cJSON.h"
#include "framesize_list.h"

#define CR_FS_INFO(name, w, h) {#name, w, h},
const cr_framesize_info cr_framesizes[CR_FRAMESIZE_COUNT] = {CR_FRAMESIZE_LIST(CR_FS_INFO)};
#undef CR_FS_INFO

static int upper(int c) { return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c; }

int cr_framesize_index(const char *name) {
    if (name == NULL) {
        return -1;
    }
    for (int i = 0; i < CR_FRAMESIZE_COUNT; i++) {
        const char *a = cr_framesizes[i].name, *b = name;
        while (*a != '\0' && *a == upper((unsigned char)*b)) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0') {
            return i;
        }
    }
    return -1;
}

/* depth_ok reports whether text nests objects and arrays no deeper than
 * CR_MAX_DEPTH, looking only at brackets outside strings. */
static int depth_ok(const char *text, size_t len) {
    int depth = 0, in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (escaped) {
                escaped = 0;
            } else if (c == '\\') {
                escaped = 1;
            } else if (c == '"') {
                in_string = 0;
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > CR_MAX_DEPTH) {
                return 0;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

/* Whole numbers beyond this are treated as "very large": no conversion to
 * int overflows, and a double holds every integer up to it exactly. */
#define BIG 1e15

/* whole reads a JSON number that must be a whole number; it stores it
 * clamped to lo..hi and returns 1, or returns 0. */
static int whole(const cJSON *v, int lo, int hi, int *out) {
    if (!cJSON_IsNumber(v)) {
        return 0;
    }
    double d = v->valuedouble;
    if (d != d) {
        return 0;
    }
    if (d > -BIG && d < BIG && (double)(long long)d != d) {
        return 0; /* 10.5 */
    }
    *out = d < lo ? lo : d > hi ? hi : (int)d;
    return 1;
}

/* flag reads true/false or the numbers 0 and 1, as CameraWebServer's UI
 * and the gateway accept them. */
static int flag(const cJSON *v, int *out) {
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v) ? 1 : 0;
        return 1;
    }
    if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) {
        *out = v->valuedouble == 1 ? 1 : 0;
        return 1;
    }
    return 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void fail(cr_message *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->error, sizeof m->error, fmt, ap);
    va_end(ap);
}

/* key_name copies a key for an error message, shortened. */
static const char *key_name(const char *k, char *buf, size_t n) {
    size_t l = strlen(k);
    if (l < n) {
        return k;
    }
    memcpy(buf, k, n - 4);
    memcpy(buf + n - 4, "...", 4);
    return buf;
}

static void parse_control(const cJSON *root, const cr_camera_limits *lim, cr_message *m) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble <= 9007199254740992.0 &&
        (double)(uint64_t)id->valuedouble == id->valuedouble) {
        m->id = (uint64_t)id->valuedouble;
        m->has_id = 1;
    } else {
        fail(m, "control command without a numeric id");
        return;
    }
    cr_settings *s = &m->settings;
    char kb[40];
    for (const cJSON *it = root->child; it != NULL; it = it->next) {
        const char *k = it->string;
        if (k == NULL || strcmp(k, "type") == 0 || strcmp(k, "id") == 0) {
            continue;
        }
        if (strcmp(k, "framesize") == 0) {
            int i = cJSON_IsString(it) ? cr_framesize_index(it->valuestring) : -1;
            if (i < 0) {
                fail(m, "framesize must be a frame size name such as \"VGA\"");
                return;
            }
            if (!(lim->supported & (1u << i))) {
                fail(m, "framesize %s is not supported by this camera driver",
                     cr_framesizes[i].name);
                return;
            }
            if (i > lim->max_framesize) {
                fail(m, "framesize %s is above the size the camera was started with (%s)",
                     cr_framesizes[i].name, cr_framesizes[lim->max_framesize].name);
                return;
            }
            s->framesize = i;
            s->present |= CR_SET_FRAMESIZE;
        } else if (strcmp(k, "quality") == 0) {
            if (!whole(it, CR_QUALITY_MIN, CR_QUALITY_MAX, &s->quality)) {
                fail(m, "quality must be a whole number from 0 to 63");
                return;
            }
            s->present |= CR_SET_QUALITY;
        } else if (strcmp(k, "brightness") == 0 || strcmp(k, "contrast") == 0 ||
                   strcmp(k, "saturation") == 0) {
            int *dst = k[0] == 'b' ? &s->brightness : k[0] == 'c' ? &s->contrast : &s->saturation;
            if (!whole(it, CR_LEVEL_MIN, CR_LEVEL_MAX, dst)) {
                fail(m, "%s must be a whole number from -2 to 2", k);
                return;
            }
            s->present |= k[0] == 'b' ? CR_SET_BRIGHTNESS : k[0] == 'c' ? CR_SET_CONTRAST : CR_SET_SATURATION;
        } else if (strcmp(k, "vflip") == 0 || strcmp(k, "hmirror") == 0) {
            int *dst = k[0] == 'v' ? &s->vflip : &s->hmirror;
            if (!flag(it, dst)) {
                fail(m, "%s must be true or false (or 1 or 0)", k);
                return;
            }
            s->present |= k[0] == 'v' ? CR_SET_VFLIP : CR_SET_HMIRROR;
        } else if (strcmp(k, "led") == 0) {
            if (!lim->has_led) {
                fail(m, "this board has no flash LED");
                return;
            }
            if (!whole(it, 0, CR_LED_MAX, &s->led)) {
                fail(m, "led must be a whole number from 0 to 255");
                return;
            }
            s->present |= CR_SET_LED;
        } else {
            fail(m, "unknown setting \"%s\" (known: framesize, quality, brightness, contrast, "
                    "saturation, vflip, hmirror, led)",
                 key_name(k, kb, sizeof kb));
            return;
        }
    }
}

static void parse_demand(const cJSON *root, cr_message *m) {
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(root, "rate");
    if (cJSON_IsString(rate) && strcmp(rate->valuestring, "idle") == 0) {
        m->idle = 1;
    } else if (cJSON_IsString(rate) && strcmp(rate->valuestring, "full") == 0) {
        m->idle = 0;
    } else {
        fail(m, "demand rate must be \"idle\" or \"full\"");
        return;
    }
    const cJSON *fps = cJSON_GetObjectItemCaseSensitive(root, "idle_fps");
    if (cJSON_IsNumber(fps) && fps->valuedouble > 0) {
        double milli = fps->valuedouble * 1000.0;
        m->idle_fps_milli = milli >= 1e9 ? 1000000000u : milli < 1 ? 1u : (uint32_t)milli;
    }
}

cr_msg_kind cr_parse_message(const char *text, size_t len, const cr_camera_limits *lim,
                             cr_message *m) {
    memset(m, 0, sizeof *m);
    m->kind = CR_MSG_INVALID;
    if (len > CR_MAX_MESSAGE) {
        fail(m, "message of %lu bytes is larger than %u bytes", (unsigned long)len, CR_MAX_MESSAGE);
        return m->kind;
    }
    if (text == NULL || memchr(text, '\0', len) != NULL || text[len] != '\0') {
        fail(m, "message is not NUL-terminated text");
        return m->kind;
    }
    if (!depth_ok(text, len)) {
        fail(m, "message nests deeper than %d levels", CR_MAX_DEPTH);
        return m->kind;
    }
    cJSON *root = cJSON_Parse(text);
    if (root == NULL) {
        fail(m, "message is not JSON");
        return m->kind;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsObject(root) || !cJSON_IsString(type)) {
        fail(m, "message is not a JSON object with a string \"type\"");
    } else if (strcmp(type->valuestring, "control") == 0) {
        m->kind = CR_MSG_CONTROL;
        parse_control(root, lim, m);
    } else if (strcmp(type->valuestring, "demand") == 0) {
        m->kind = CR_MSG_DEMAND;
        parse_demand(root, m);
    } else {
        m->kind = CR_MSG_OTHER;
    }
    cJSON_Delete(root);
    return m->kind;
}
