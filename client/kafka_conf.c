/* client/kafka_conf.c: rivulet configuration -> librdkafka configuration,
 * and librdkafka error codes -> rivulet's (client/kafka_conf.h). */
#include "client/kafka_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/errstr.h"

#define EMBEDDED_PREFIX "embedded:"

bool rv__kafka_is_remote(const char *bootstrap_servers) {
    return bootstrap_servers && *bootstrap_servers &&
           strncmp(bootstrap_servers, EMBEDDED_PREFIX, strlen(EMBEDDED_PREFIX)) != 0;
}

/* Which roles a property applies to. */
#define P (1u << RV__KAFKA_PRODUCER)
#define C (1u << RV__KAFKA_CONSUMER)
#define A (1u << RV__KAFKA_ADMIN)

/* A rivulet property and librdkafka's name for it. Rows with the same name
 * on both sides are librdkafka's own (Kafka-compatible) names. */
static const struct {
    const char *name;
    const char *rdk_name;
    unsigned roles;
} props[] = {
    {"bootstrap.servers", "bootstrap.servers", P | C | A},
    {"client.id", "client.id", P | C | A},
    {"metadata.max.age.ms", "metadata.max.age.ms", P | C | A},
    {"retry.backoff.ms", "retry.backoff.ms", P}, /* a producer property in librdkafka */
    {"acks", "acks", P},
    {"batch.size", "batch.size", P},
    {"linger.ms", "linger.ms", P},
    {"compression.type", "compression.type", P},
    {"enable.idempotence", "enable.idempotence", P},
    {"max.in.flight.requests.per.connection", "max.in.flight.requests.per.connection", P},
    {"retries", "retries", P},
    {"delivery.timeout.ms", "delivery.timeout.ms", P},
    {"request.timeout.ms", "request.timeout.ms", P},
    {"max.request.size", "message.max.bytes", P},
    {"group.id", "group.id", C},
    {"auto.offset.reset", "auto.offset.reset", C},
    {"enable.auto.commit", "enable.auto.commit", C},
    {"auto.commit.interval.ms", "auto.commit.interval.ms", C},
    {"session.timeout.ms", "session.timeout.ms", C},
    {"heartbeat.interval.ms", "heartbeat.interval.ms", C},
    {"max.poll.interval.ms", "max.poll.interval.ms", C},
    {"isolation.level", "isolation.level", C},
    {"fetch.max.bytes", "fetch.max.bytes", C},
    {"max.partition.fetch.bytes", "max.partition.fetch.bytes", C},
    {"check.crcs", "check.crcs", C},
    {"partition.assignment.strategy", "partition.assignment.strategy", C},
};

#undef P
#undef C
#undef A

/* Java's assignor class names -> librdkafka's assignor names. */
static const char *assignor_name(const char *s, size_t n) {
    static const struct {
        const char *java, *rdk;
    } map[] = {
        {"org.apache.kafka.clients.consumer.RangeAssignor", "range"},
        {"org.apache.kafka.clients.consumer.RoundRobinAssignor", "roundrobin"},
        {"org.apache.kafka.clients.consumer.CooperativeStickyAssignor", "cooperative-sticky"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].java) == n && !strncmp(map[i].java, s, n))
            return map[i].rdk;
    return NULL;
}

/* Writes the librdkafka value of `name` = `value` into out. */
static void translate(const char *name, const char *value, char *out, size_t out_size) {
    if (!strcmp(name, "auto.offset.reset") && !strcmp(value, "none")) {
        snprintf(out, out_size, "error"); /* librdkafka's name for Java's none */
        return;
    }
    if (!strcmp(name, "partition.assignment.strategy")) {
        size_t o = 0;
        out[0] = '\0';
        for (const char *p = value; *p;) {
            while (*p == ' ' || *p == ',')
                p++;
            size_t n = strcspn(p, ", ");
            if (!n)
                break;
            const char *mapped = assignor_name(p, n);
            int w = snprintf(out + o, out_size - o, "%s%.*s", o ? "," : "",
                             mapped ? (int)strlen(mapped) : (int)n, mapped ? mapped : p);
            if (w < 0 || (size_t)w >= out_size - o)
                break;
            o += (size_t)w;
            p += n;
        }
        return;
    }
    snprintf(out, out_size, "%s", value);
}

static bool set(rd_kafka_conf_t *rc, const char *rdk_name, const char *rv_name, const char *value,
                char *errstr, size_t errstr_size) {
    char why[256];
    if (rd_kafka_conf_set(rc, rdk_name, value, why, sizeof why) == RD_KAFKA_CONF_OK)
        return true;
    rv__errstr_set(errstr, errstr_size, "Invalid value %s for configuration %s: %s", value, rv_name,
                   why);
    return false;
}

rd_kafka_conf_t *rv__kafka_conf_new(const rv_conf_t *conf, rv__kafka_role_t role, char *errstr,
                                    size_t errstr_size) {
    rd_kafka_conf_t *rc = rd_kafka_conf_new();
    if (!rc) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        if (!(props[i].roles & (1u << role)))
            continue;
        const char *v = rv_conf_get(conf, props[i].name);
        if (!v)
            continue;
        char value[512];
        translate(props[i].name, v, value, sizeof value);
        if (!set(rc, props[i].rdk_name, props[i].name, value, errstr, errstr_size))
            goto fail;
    }
    if (role == RV__KAFKA_PRODUCER) {
        /* buffer.memory is bytes; librdkafka counts kilobytes. */
        int64_t mem = rv__conf_get_int64(conf, "buffer.memory", 33554432);
        char kb[32];
        snprintf(kb, sizeof kb, "%lld", (long long)(mem / 1024 > 0 ? mem / 1024 : 1));
        if (!set(rc, "queue.buffering.max.kbytes", "buffer.memory", kb, errstr, errstr_size) ||
            !set(rc, "partitioner", "partitioner", "murmur2_random", errstr, errstr_size))
            goto fail;
    }
    return rc;
fail:
    rd_kafka_conf_destroy(rc);
    return NULL;
}

rv_err_t rv__kafka_err(rd_kafka_resp_err_t err) {
    if (err >= 0)
        return (rv_err_t)err; /* Kafka's own codes, the same numbers */
    /* Local codes: only those that mean the same thing on both sides (some
     * of rivulet's numbers name other conditions in librdkafka). */
    switch (err) {
    case RD_KAFKA_RESP_ERR__BAD_MSG:
        return RV_ERR__BAD_MSG;
    case RD_KAFKA_RESP_ERR__STATE:
        return RV_ERR__STATE;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return RV_ERR__INVALID_ARG;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    /* The cluster could not be reached in time: Java's clients retry
     * these inside the call and end with a TimeoutException, which the
     * application may retry. */
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        return RV_ERR__TIMED_OUT;
    case RD_KAFKA_RESP_ERR__NOENT:
        return RV_ERR__NOENT;
    case RD_KAFKA_RESP_ERR__DESTROY:
        return RV_ERR__DESTROY;
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
        return RV_ERR__MSG_TIMED_OUT;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return RV_ERR__QUEUE_FULL;
    case RD_KAFKA_RESP_ERR__KEY_SERIALIZATION:
    case RD_KAFKA_RESP_ERR__VALUE_SERIALIZATION:
        return RV_ERR__SERIALIZATION;
    case RD_KAFKA_RESP_ERR__KEY_DESERIALIZATION:
    case RD_KAFKA_RESP_ERR__VALUE_DESERIALIZATION:
        return RV_ERR__DESERIALIZATION;
    case RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED:
        return RV_ERR__MAX_POLL_EXCEEDED;
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
        return RV_ERR__NO_OFFSET;
    case RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED:
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
        return RV_ERR__NOT_IMPLEMENTED;
    case RD_KAFKA_RESP_ERR__PARTIAL:
        return RV_ERR__PARTIAL;
    case RD_KAFKA_RESP_ERR__BAD_COMPRESSION:
        return RV_ERR__BAD_MSG;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        return RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        return RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    default:
        return RV_ERR__FAIL;
    }
}
