/* client/serde.c: the serdes of include/rivulet/serde.h: the built-in
 * bytes, string, int32, int64 and double in Kafka's byte formats
 * (org.apache.kafka.common.serialization), and user-defined ones made of
 * callbacks, and the windowed key serdes of rivulet/dsl.h (Kafka's
 * WindowedSerdes). Nulls are handled here, before any callback runs, so
 * every serde maps null to null as Kafka's do. */
#include "rivulet/serde.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errstr.h"
#include "rivulet/dsl.h"

struct rv_serde_s {
    char *name;
    bool builtin;
    rv_serialize_cb_t *serialize;
    rv_deserialize_cb_t *deserialize;
    rv_serde_free_cb_t *free_cb;
    void *opaque;
    void (*opaque_destroy)(void *opaque); /* the windowed serdes own their opaque */
};

/* ---- fixed-size helpers ---- */

void rv_serde_int32_write(void *out, int32_t v) {
    rv__wbe32(out, (uint32_t)v);
}

void rv_serde_int64_write(void *out, int64_t v) {
    rv__wbe64(out, (uint64_t)v);
}

void rv_serde_double_write(void *out, double v) {
    /* Java's Double.doubleToLongBits: the IEEE 754 bits as a long. */
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    rv__wbe64(out, bits);
}

rv_err_t rv_serde_int32_read(int32_t *v, const void *bytes, int32_t len) {
    if (!bytes || len != 4)
        return RV_ERR__DESERIALIZATION;
    *v = (int32_t)rv__be32(bytes);
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_serde_int64_read(int64_t *v, const void *bytes, int32_t len) {
    if (!bytes || len != 8)
        return RV_ERR__DESERIALIZATION;
    *v = (int64_t)rv__be64(bytes);
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_serde_double_read(double *v, const void *bytes, int32_t len) {
    if (!bytes || len != 8)
        return RV_ERR__DESERIALIZATION;
    uint64_t bits = rv__be64(bytes);
    memcpy(v, &bits, sizeof *v);
    return RV_ERR_NO_ERROR;
}

/* ---- built-in callbacks ---- */

static rv_err_t copy_out(void **out, int32_t *out_len, const void *p, size_t n, bool nul,
                         char *errstr, size_t errstr_size) {
    if (n > INT32_MAX) {
        rv__errstr_set(errstr, errstr_size, "Data of %zu bytes is too large to serialize", n);
        return RV_ERR__SERIALIZATION;
    }
    char *c = malloc(n + (nul ? 1 : 0) + (n == 0 && !nul ? 1 : 0));
    if (!c) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    if (n)
        memcpy(c, p, n);
    if (nul)
        c[n] = '\0';
    *out = c;
    *out_len = (int32_t)n;
    return RV_ERR_NO_ERROR;
}

static rv_err_t bytes_ser(void **out, int32_t *out_len, const char *topic, const void *data,
                          int32_t data_len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque;
    if (data_len < 0) {
        rv__errstr_set(errstr, errstr_size, "Negative length %d for bytes", data_len);
        return RV_ERR__SERIALIZATION;
    }
    return copy_out(out, out_len, data, (size_t)data_len, false, errstr, errstr_size);
}

static rv_err_t bytes_de(void **out, int32_t *out_len, const char *topic, const void *bytes,
                         int32_t len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque;
    return copy_out(out, out_len, bytes, (size_t)len, false, errstr, errstr_size);
}

static rv_err_t string_ser(void **out, int32_t *out_len, const char *topic, const void *data,
                           int32_t data_len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque;
    size_t n = data_len < 0 ? strlen(data) : (size_t)data_len;
    return copy_out(out, out_len, data, n, false, errstr, errstr_size);
}

static rv_err_t string_de(void **out, int32_t *out_len, const char *topic, const void *bytes,
                          int32_t len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque;
    return copy_out(out, out_len, bytes, (size_t)len, true, errstr, errstr_size);
}

static rv_err_t fixed_ser(void **out, int32_t *out_len, size_t n, const void *data, int kind,
                          char *errstr, size_t errstr_size) {
    uint8_t *b = malloc(n);
    if (!b) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    if (kind == 0)
        rv_serde_int32_write(b, *(const int32_t *)data);
    else if (kind == 1)
        rv_serde_int64_write(b, *(const int64_t *)data);
    else
        rv_serde_double_write(b, *(const double *)data);
    *out = b;
    *out_len = (int32_t)n;
    return RV_ERR_NO_ERROR;
}

static rv_err_t int32_ser(void **out, int32_t *out_len, const char *topic, const void *data,
                          int32_t data_len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque, (void)data_len;
    return fixed_ser(out, out_len, 4, data, 0, errstr, errstr_size);
}

static rv_err_t int64_ser(void **out, int32_t *out_len, const char *topic, const void *data,
                          int32_t data_len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque, (void)data_len;
    return fixed_ser(out, out_len, 8, data, 1, errstr, errstr_size);
}

static rv_err_t double_ser(void **out, int32_t *out_len, const char *topic, const void *data,
                           int32_t data_len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque, (void)data_len;
    return fixed_ser(out, out_len, 8, data, 2, errstr, errstr_size);
}

/* Kafka's deserializers name themselves in the size error. */
static rv_err_t fixed_de(void **out, int32_t *out_len, const void *bytes, int32_t len, size_t n,
                         const char *java, int kind, char *errstr, size_t errstr_size) {
    if ((size_t)len != n) {
        rv__errstr_set(errstr, errstr_size, "Size of data received by %s is not %zu", java, n);
        return RV_ERR__DESERIALIZATION;
    }
    void *v = malloc(n);
    if (!v) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    if (kind == 0)
        rv_serde_int32_read(v, bytes, len);
    else if (kind == 1)
        rv_serde_int64_read(v, bytes, len);
    else
        rv_serde_double_read(v, bytes, len);
    *out = v;
    *out_len = (int32_t)n;
    return RV_ERR_NO_ERROR;
}

static rv_err_t int32_de(void **out, int32_t *out_len, const char *topic, const void *bytes,
                         int32_t len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque;
    return fixed_de(out, out_len, bytes, len, 4, "IntegerDeserializer", 0, errstr, errstr_size);
}

static rv_err_t int64_de(void **out, int32_t *out_len, const char *topic, const void *bytes,
                         int32_t len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque;
    return fixed_de(out, out_len, bytes, len, 8, "LongDeserializer", 1, errstr, errstr_size);
}

static rv_err_t double_de(void **out, int32_t *out_len, const char *topic, const void *bytes,
                          int32_t len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque;
    return fixed_de(out, out_len, bytes, len, 8, "DoubleDeserializer", 2, errstr, errstr_size);
}

static const rv_serde_t s_bytes = {"bytes", true, bytes_ser, bytes_de, NULL, NULL, NULL};
static const rv_serde_t s_string = {"string", true, string_ser, string_de, NULL, NULL, NULL};
static const rv_serde_t s_int32 = {"int32", true, int32_ser, int32_de, NULL, NULL, NULL};
static const rv_serde_t s_int64 = {"int64", true, int64_ser, int64_de, NULL, NULL, NULL};
static const rv_serde_t s_double = {"double", true, double_ser, double_de, NULL, NULL, NULL};

const rv_serde_t *rv_serde_bytes(void) {
    return &s_bytes;
}
const rv_serde_t *rv_serde_string(void) {
    return &s_string;
}
const rv_serde_t *rv_serde_int32(void) {
    return &s_int32;
}
const rv_serde_t *rv_serde_int64(void) {
    return &s_int64;
}
const rv_serde_t *rv_serde_double(void) {
    return &s_double;
}

const rv_serde_t *rv_serde_by_name(const char *name) {
    static const rv_serde_t *const all[] = {&s_bytes, &s_string, &s_int32, &s_int64, &s_double};
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(all[i]->name, name))
            return all[i];
    return NULL;
}

/* ---- user serdes and the generic calls ---- */

rv_serde_t *rv_serde_new(const char *name, rv_serialize_cb_t *serialize,
                         rv_deserialize_cb_t *deserialize, rv_serde_free_cb_t *free_cb,
                         void *opaque) {
    if (!name)
        return NULL;
    rv_serde_t *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        return NULL;
    }
    s->serialize = serialize;
    s->deserialize = deserialize;
    s->free_cb = free_cb;
    s->opaque = opaque;
    return s;
}

void rv_serde_destroy(const rv_serde_t *serde) {
    if (!serde || serde->builtin)
        return;
    rv_serde_t *s = (rv_serde_t *)serde; /* made by rv_serde_new(): ours to free */
    if (s->opaque_destroy)
        s->opaque_destroy(s->opaque);
    free(s->name);
    free(s);
}

const char *rv_serde_name(const rv_serde_t *serde) {
    return serde ? serde->name : NULL;
}

rv_err_t rv_serde_serialize(const rv_serde_t *serde, void **out, int32_t *out_len,
                            const char *topic, const void *data, int32_t data_len, char *errstr,
                            size_t errstr_size) {
    if (!serde || !out || !out_len) {
        rv__errstr_set(errstr, errstr_size, "serde, out and out_len are required");
        return RV_ERR__INVALID_ARG;
    }
    *out = NULL;
    *out_len = -1;
    if (!data)
        return RV_ERR_NO_ERROR; /* null stays null */
    if (!serde->serialize) {
        rv__errstr_set(errstr, errstr_size, "Serde %s has no serializer", serde->name);
        return RV_ERR__STATE;
    }
    rv_err_t err =
        serde->serialize(out, out_len, topic, data, data_len, serde->opaque, errstr, errstr_size);
    if (err) {
        *out = NULL;
        *out_len = -1;
    }
    return err;
}

rv_err_t rv_serde_deserialize(const rv_serde_t *serde, void **out, int32_t *out_len,
                              const char *topic, const void *bytes, int32_t len, char *errstr,
                              size_t errstr_size) {
    if (!serde || !out) {
        rv__errstr_set(errstr, errstr_size, "serde and out are required");
        return RV_ERR__INVALID_ARG;
    }
    *out = NULL;
    if (out_len)
        *out_len = -1;
    if (!bytes || len < 0)
        return RV_ERR_NO_ERROR;
    if (!serde->deserialize) {
        rv__errstr_set(errstr, errstr_size, "Serde %s has no deserializer", serde->name);
        return RV_ERR__STATE;
    }
    int32_t n = -1;
    rv_err_t err =
        serde->deserialize(out, &n, topic, bytes, len, serde->opaque, errstr, errstr_size);
    if (err)
        *out = NULL;
    else if (out_len)
        *out_len = n;
    return err;
}

void rv_serde_free(const rv_serde_t *serde, void *p) {
    if (!p)
        return;
    if (serde && serde->free_cb)
        serde->free_cb(p, serde->opaque);
    else
        free(p);
}

/* ---- Windowed serdes (Kafka's WindowedSerdes) ----
 *
 * Bytes: TimeWindowedSerializer writes [inner key][8-byte BE start]
 * (WindowKeySchema.toBinary), SessionWindowedSerializer [inner key][8-byte
 * BE end][8-byte BE start] (SessionKeySchema.toBinary). A deserialized
 * key is an rv_windowed_t whose `key` the inner serde made; a time
 * window's end is start + window size (Long.MAX_VALUE when that
 * overflows, as Kafka's TimeWindow).
 *
 * What the callbacks return sits WIN_HDR bytes into its allocation, after
 * a tag telling serialized bytes from a deserialized key, so the one free
 * callback can also free the inner key of the latter. */

#define WIN_HDR 16 /* keeps the returned pointer aligned for rv_windowed_t */

typedef struct windowed_opaque_s {
    const rv_serde_t *inner;
    int64_t size; /* window size; -1 for sessions */
} windowed_opaque_t;

static void windowed_free(void *p, void *opaque) {
    windowed_opaque_t *o = opaque;
    uint8_t *base = (uint8_t *)p - WIN_HDR;
    if (base[0] == 'D')
        rv_serde_free(o->inner, (void *)((rv_windowed_t *)p)->key);
    free(base);
}

static rv_err_t windowed_ser(void **out, int32_t *out_len, const char *topic, const void *data,
                             int32_t data_len, void *opaque, char *errstr, size_t errstr_size) {
    windowed_opaque_t *o = opaque;
    if (data_len != (int32_t)sizeof(rv_windowed_t)) {
        rv__errstr_set(errstr, errstr_size,
                       "A windowed key must be an rv_windowed_t (%zu bytes), got %d bytes",
                       sizeof(rv_windowed_t), data_len);
        return RV_ERR__SERIALIZATION;
    }
    const rv_windowed_t *w = data;
    void *kb = NULL;
    int32_t kl = -1;
    rv_err_t err =
        rv_serde_serialize(o->inner, &kb, &kl, topic, w->key, w->key_len, errstr, errstr_size);
    if (err)
        return err;
    if (kl < 0)
        kl = 0; /* Kafka's inner serializers never make null of a key */
    size_t suffix = o->size < 0 ? 16 : 8;
    if ((size_t)kl + suffix > INT32_MAX) {
        rv_serde_free(o->inner, kb);
        rv__errstr_set(errstr, errstr_size, "A windowed key of %d bytes is too large", kl);
        return RV_ERR__SERIALIZATION;
    }
    uint8_t *base = malloc(WIN_HDR + (size_t)kl + suffix);
    if (!base) {
        rv_serde_free(o->inner, kb);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    base[0] = 'S';
    uint8_t *p = base + WIN_HDR;
    if (kl)
        memcpy(p, kb, (size_t)kl);
    rv_serde_free(o->inner, kb);
    if (o->size < 0) {
        rv__wbe64(p + kl, (uint64_t)w->end);
        rv__wbe64(p + kl + 8, (uint64_t)w->start);
    } else {
        rv__wbe64(p + kl, (uint64_t)w->start);
    }
    *out = p;
    *out_len = kl + (int32_t)suffix;
    return RV_ERR_NO_ERROR;
}

static rv_err_t windowed_de(void **out, int32_t *out_len, const char *topic, const void *bytes,
                            int32_t len, void *opaque, char *errstr, size_t errstr_size) {
    windowed_opaque_t *o = opaque;
    int32_t suffix = o->size < 0 ? 16 : 8;
    if (len < suffix) {
        rv__errstr_set(errstr, errstr_size,
                       "A %s windowed key needs at least %d bytes, got %d bytes",
                       o->size < 0 ? "session" : "time", suffix, len);
        return RV_ERR__DESERIALIZATION;
    }
    const uint8_t *b = bytes;
    uint8_t *base = calloc(1, WIN_HDR + sizeof(rv_windowed_t));
    if (!base) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    base[0] = 'D';
    rv_windowed_t *w = (rv_windowed_t *)(void *)(base + WIN_HDR);
    int32_t kl = len - suffix;
    void *key = NULL;
    int32_t key_len = -1;
    rv_err_t err =
        rv_serde_deserialize(o->inner, &key, &key_len, topic, b, kl, errstr, errstr_size);
    if (err) {
        free(base);
        return err;
    }
    w->key = key;
    w->key_len = key_len;
    if (o->size < 0) {
        w->end = (int64_t)rv__be64(b + kl);
        w->start = (int64_t)rv__be64(b + kl + 8);
    } else {
        w->start = (int64_t)rv__be64(b + kl);
        w->end = w->start > INT64_MAX - o->size ? INT64_MAX : w->start + o->size;
    }
    *out = w;
    *out_len = (int32_t)sizeof *w;
    return RV_ERR_NO_ERROR;
}

static rv_serde_t *windowed_new(const char *kind, const rv_serde_t *inner, int64_t size) {
    if (!inner)
        return NULL;
    windowed_opaque_t *o = malloc(sizeof *o);
    if (!o)
        return NULL;
    o->inner = inner;
    o->size = size;
    char name[256];
    snprintf(name, sizeof name, "%s(%s)", kind, inner->name);
    rv_serde_t *s = rv_serde_new(name, windowed_ser, windowed_de, windowed_free, o);
    if (!s) {
        free(o);
        return NULL;
    }
    s->opaque_destroy = free;
    return s;
}

rv_serde_t *rv_serde_time_windowed_new(const rv_serde_t *inner, int64_t window_size_ms) {
    return window_size_ms < 0 ? NULL : windowed_new("time-windowed", inner, window_size_ms);
}

rv_serde_t *rv_serde_session_windowed_new(const rv_serde_t *inner) {
    return windowed_new("session-windowed", inner, -1);
}
