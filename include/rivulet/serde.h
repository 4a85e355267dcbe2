/* rivulet/serde.h: serializers and deserializers.
 *
 * A serde turns a value into bytes and back. The built-in ones write
 * Kafka's byte formats, so a Java consumer with the matching Kafka
 * deserializer reads what a rivulet producer wrote and the other way round:
 *
 *   bytes   the bytes as they are (ByteArraySerializer)
 *   string  UTF-8 bytes without a terminator (StringSerializer); data_len -1
 *           means "NUL-terminated, use strlen"; deserializes to a
 *           NUL-terminated copy
 *   int32   4 bytes big-endian (IntegerSerializer); data points to an int32_t
 *   int64   8 bytes big-endian (LongSerializer); data points to an int64_t
 *   double  IEEE 754 binary64, big-endian (DoubleSerializer: Java's
 *           Double.doubleToLongBits); data points to a double
 *
 * A null (data NULL with data_len -1) serializes to null and null bytes
 * deserialize to null (*out NULL, *out_len -1), as Kafka's serdes do; the
 * callbacks of a user-defined serde never see a null.
 *
 * Wrong sizes fail as Kafka's deserializers do: RV_ERR__DESERIALIZATION with
 * Kafka's message ("Size of data received by IntegerDeserializer is not 4").
 *
 * Thread-safety: serdes are immutable once made; every function may be
 * called from several threads at once on the same serde. */
#ifndef RIVULET_SERDE_H
#define RIVULET_SERDE_H

#include "common.h"
#include "error.h"

RV_BEGIN_DECLS

typedef struct rv_serde_s rv_serde_t;

/** Serializes data[0..data_len) (for typed values data_len is ignored) for
 *  `topic` (may be NULL). Must set *out to bytes allocated with malloc()
 *  (the library frees them with rv_serde_free()'s free callback, or free()
 *  when none) and *out_len to their length; on failure return
 *  RV_ERR__SERIALIZATION and write a message to errstr. */
typedef rv_err_t rv_serialize_cb_t(void **out, int32_t *out_len, const char *topic,
                                   const void *data, int32_t data_len, void *opaque, char *errstr,
                                   size_t errstr_size);

/** Deserializes bytes[0..len) into a new value in *out (and its length in
 *  *out_len, for values that have one), allocated as for serialize. */
typedef rv_err_t rv_deserialize_cb_t(void **out, int32_t *out_len, const char *topic,
                                     const void *bytes, int32_t len, void *opaque, char *errstr,
                                     size_t errstr_size);

/** Frees what serialize or deserialize returned. NULL means free(). */
typedef void rv_serde_free_cb_t(void *p, void *opaque);

/* The built-in serdes. Borrowed: static objects, valid for the whole
 * program; rv_serde_destroy() on them does nothing. */
RV_EXTERN const rv_serde_t *rv_serde_bytes(void);
RV_EXTERN const rv_serde_t *rv_serde_string(void);
RV_EXTERN const rv_serde_t *rv_serde_int32(void);
RV_EXTERN const rv_serde_t *rv_serde_int64(void);
RV_EXTERN const rv_serde_t *rv_serde_double(void);

/** The built-in serde named `name` ("bytes", "string", "int32", "int64",
 *  "double": the values of default.key.serde / default.value.serde).
 *  Borrowed: static. NULL for another name or NULL. */
RV_EXTERN const rv_serde_t *rv_serde_by_name(const char *name);

/** A user-defined serde named `name` (copied; shown in errors and
 *  topology descriptions). serialize or deserialize may be NULL for a
 *  one-way serde (calling the missing direction gives RV_ERR__STATE).
 *  `opaque` is passed to every callback and stays owned by the caller.
 *  Caller owns the result; free with rv_serde_destroy(). NULL when out of
 *  memory or name is NULL. */
RV_EXTERN rv_serde_t *rv_serde_new(const char *name, rv_serialize_cb_t *serialize,
                                   rv_deserialize_cb_t *deserialize, rv_serde_free_cb_t *free_cb,
                                   void *opaque);

/** Frees a user-defined serde. NULL or a built-in serde does nothing. */
RV_EXTERN void rv_serde_destroy(const rv_serde_t *serde);

/** The serde's name ("bytes", "string", "int32", "int64", "double" or the
 *  user's). Borrowed: valid until the serde is destroyed. */
RV_EXTERN const char *rv_serde_name(const rv_serde_t *serde);

/** Serializes `data` (see the formats above). Caller owns *out; free with
 *  rv_serde_free(serde, *out). A null gives *out NULL and *out_len -1. */
RV_EXTERN rv_err_t rv_serde_serialize(const rv_serde_t *serde, void **out, int32_t *out_len,
                                      const char *topic, const void *data, int32_t data_len,
                                      char *errstr, size_t errstr_size);

/** Deserializes bytes[0..len) (NULL with -1 for null). Caller owns *out;
 *  free with rv_serde_free(serde, *out). *out_len (may be NULL) gets the
 *  value's length: the byte count for bytes and string (without the
 *  terminator), 4, 8 and 8 for the numbers. */
RV_EXTERN rv_err_t rv_serde_deserialize(const rv_serde_t *serde, void **out, int32_t *out_len,
                                        const char *topic, const void *bytes, int32_t len,
                                        char *errstr, size_t errstr_size);

/** Frees a value or bytes that serde returned. NULL does nothing. */
RV_EXTERN void rv_serde_free(const rv_serde_t *serde, void *p);

/* Allocation-free helpers for the fixed-size formats: write exactly 4 or 8
 * bytes to out, or read them back. The readers return
 * RV_ERR__DESERIALIZATION when len is not the exact size. */
RV_EXTERN void rv_serde_int32_write(void *out, int32_t v);
RV_EXTERN void rv_serde_int64_write(void *out, int64_t v);
RV_EXTERN void rv_serde_double_write(void *out, double v);
RV_EXTERN rv_err_t rv_serde_int32_read(int32_t *v, const void *bytes, int32_t len);
RV_EXTERN rv_err_t rv_serde_int64_read(int64_t *v, const void *bytes, int32_t len);
RV_EXTERN rv_err_t rv_serde_double_read(double *v, const void *bytes, int32_t len);

RV_END_DECLS

#endif
