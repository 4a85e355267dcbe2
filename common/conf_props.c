/* common/conf_props.c: the table of client and application properties that
 * rv_conf_t accepts (names, types, defaults and docs as in Kafka's client
 * configs). docs/CONFIGURATION.md is generated from it, so the doc strings
 * are the user documentation. Add a row here to add a property; keep the
 * rows sorted by name. */
#include <math.h>

#include "common/config.h"

/* Kafka's "at least X" ranges have no upper bound. */
#define NOMAX INFINITY
/* min > max: no range check. */
#define NORANGE 1, 0

/* Consumer enums (client/consumer.c). */
static const char *const auto_offset_resets[] = {"latest", "earliest", "none", NULL};
static const char *const isolation_levels[] = {"read_uncommitted", "read_committed", NULL};
static const char *const assignment_strategies[] = {
    "range",
    "roundrobin",
    "cooperative-sticky",
    "org.apache.kafka.clients.consumer.RangeAssignor",
    "org.apache.kafka.clients.consumer.RoundRobinAssignor",
    "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
    NULL};

/* Producer enums (client/producer.c). */
static const char *const producer_acks[] = {"all", "-1", "0", "1", NULL};
static const char *const producer_compression_types[] = {"none", "gzip", "snappy",
                                                         "lz4",  "zstd", NULL};

/* Streams enums (runtime/task.c). */
static const char *const streams_serdes[] = {"bytes", "string", "int32", "int64", "double", NULL};
static const char *const streams_deser_handlers[] = {
    "org.apache.kafka.streams.errors.LogAndFailExceptionHandler",
    "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler", "LogAndFailExceptionHandler",
    "LogAndContinueExceptionHandler", NULL};
static const char *const streams_prod_handlers[] = {
    "org.apache.kafka.streams.errors.DefaultProductionExceptionHandler",
    "DefaultProductionExceptionHandler", NULL};
static const char *const streams_extractors[] = {
    "org.apache.kafka.streams.processor.FailOnInvalidTimestamp",
    "org.apache.kafka.streams.processor.LogAndSkipOnInvalidTimestamp",
    "org.apache.kafka.streams.processor.UsePartitionTimeOnInvalidTimestamp",
    "org.apache.kafka.streams.processor.WallclockTimestampExtractor",
    "FailOnInvalidTimestamp",
    "LogAndSkipOnInvalidTimestamp",
    "UsePartitionTimeOnInvalidTimestamp",
    "WallclockTimestampExtractor",
    NULL};
static const char *const streams_guarantees[] = {"at_least_once", "exactly_once_v2", NULL};

const rv__prop_t rv__conf_props[] = {
    {"__emit.interval.ms.kstreams.outer.join.spurious.results.fix__", RV__PROP_LONG, "1000", 0,
     NOMAX, NULL,
     "Internal (Kafka Streams' InternalConfig): the least wall-clock time in milliseconds between "
     "two checks of a left or outer stream-stream join for unmatched records whose window and "
     "grace have passed, which it then emits joined with null. The test driver sets 0 unless "
     "the app's configuration sets it."},
    {"__emit.interval.ms.kstreams.windowed.aggregation__", RV__PROP_LONG, "1000", 0, NOMAX, NULL,
     "Internal (Kafka Streams' InternalConfig): the least wall-clock time in milliseconds between "
     "two checks of a windowed aggregation with the emit-on-window-close strategy for windows "
     "that closed, whose final results it then emits. The test driver sets 0 unless the app's "
     "configuration sets it."},
    {"acks", RV__PROP_ENUM, "all", NORANGE, producer_acks,
     "The number of acknowledgments the producer requires before a send is complete: 0 (do not "
     "wait for the broker's answer; the delivery report has offset -1), 1 (the record is written "
     "to the log), all or -1 (the record is durable: on the embedded broker, fsync'd with group "
     "commit)."},
    {"application.id", RV__PROP_STRING, NULL, NORANGE, NULL,
     "An identifier for the stream processing application. Must be unique within the cluster. "
     "It is used as the consumer group id, the prefix of internal topic names (changelog and "
     "repartition topics) and the name of the application's folder in state.dir."},
    {"auto.commit.interval.ms", RV__PROP_INT, "5000", 0, NOMAX, NULL,
     "The frequency in milliseconds that the consumer offsets are auto-committed when "
     "enable.auto.commit is true."},
    {"auto.offset.reset", RV__PROP_ENUM, "latest", NORANGE, auto_offset_resets,
     "What to do when there is no initial offset or the current offset does not exist any more "
     "(e.g. because that data has been deleted): earliest: reset to the earliest offset; "
     "latest: reset to the latest offset; none: report an error to the consumer if no previous "
     "offset is found for the consumer's group."},
    {"batch.size", RV__PROP_INT, "16384", 0, NOMAX, NULL,
     "The producer groups records bound to the same partition into batches of up to this many "
     "bytes; a batch is sent when full or after linger.ms."},
    {"bootstrap.servers", RV__PROP_STRING, NULL, NORANGE, NULL,
     "Where the cluster is: \"embedded:DIR\" runs the broker inside the process with its data "
     "in folder DIR; a comma-separated host:port list talks the Kafka protocol to `rivulet "
     "broker` or any Kafka cluster."},
    {"buffer.memory", RV__PROP_LONG, "33554432", 0, NOMAX, NULL,
     "The total bytes of memory the producer may use to buffer records waiting to be sent; when "
     "it is used up, send blocks for up to max.block.ms and then fails."},
    {"buffered.records.per.partition", RV__PROP_INT, "1000", 1, NOMAX, NULL,
     "Maximum number of records a stream task buffers per input partition: past it the stream "
     "thread pauses the partition until the task has processed its queue down again."},
    {"cache.max.bytes.buffering", RV__PROP_LONG, "10485760", 0, NOMAX, NULL,
     "Maximum number of memory bytes to be used for buffering across all threads: the record "
     "cache of the stores that enable caching, which collapses repeated updates of a key "
     "between commits. A task shares its part evenly among its cached stores."},
    {"check.crcs", RV__PROP_BOOLEAN, "true", NORANGE, NULL,
     "Check the CRC32C of the record batches consumed, to detect on-the-wire or on-disk "
     "corruption. This adds some overhead, so it may be disabled in cases seeking extreme "
     "performance."},
    {"client.id", RV__PROP_STRING, "rivulet", NORANGE, NULL,
     "An id string passed to the server with requests, to trace their source in logs and "
     "quotas."},
    {"commit.interval.ms", RV__PROP_LONG, "30000", 0, NOMAX, NULL,
     "The frequency in milliseconds with which to commit processing progress: flush the "
     "caches, stores and producer, commit the input offsets and write checkpoints."},
    {"compression.type", RV__PROP_ENUM, "none", NORANGE, producer_compression_types,
     "The compression of the batches the producer writes: none, gzip, snappy, lz4 or zstd "
     "(framed as Kafka's clients frame them)."},
    {"default.deserialization.exception.handler", RV__PROP_ENUM,
     "org.apache.kafka.streams.errors.LogAndFailExceptionHandler", NORANGE, streams_deser_handlers,
     "What a task does with an input record that does not deserialize: LogAndFailExceptionHandler "
     "fails the task; LogAndContinueExceptionHandler logs a warning and skips the record."},
    {"default.key.serde", RV__PROP_ENUM, NULL, NORANGE, streams_serdes,
     "Default serde for keys of sources and sinks that name none: bytes, string, int32, int64 "
     "or double (rivulet/serde.h). With no default, every source and sink must name its own."},
    {"default.production.exception.handler", RV__PROP_ENUM,
     "org.apache.kafka.streams.errors.DefaultProductionExceptionHandler", NORANGE,
     streams_prod_handlers,
     "What a task does when a record it writes cannot be sent: the default handler fails the "
     "task."},
    {"default.timestamp.extractor", RV__PROP_ENUM,
     "org.apache.kafka.streams.processor.FailOnInvalidTimestamp", NORANGE, streams_extractors,
     "Default timestamp extractor of sources that name none: FailOnInvalidTimestamp (the "
     "record's timestamp; a negative one fails the task), LogAndSkipOnInvalidTimestamp, "
     "UsePartitionTimeOnInvalidTimestamp or WallclockTimestampExtractor."},
    {"default.value.serde", RV__PROP_ENUM, NULL, NORANGE, streams_serdes,
     "Default serde for values of sources and sinks that name none: bytes, string, int32, int64 "
     "or double. With no default, every source and sink must name its own."},
    {"delivery.timeout.ms", RV__PROP_INT, "120000", 0, NOMAX, NULL,
     "An upper bound on the time to report success or failure after send returns, including "
     "linger.ms and retries. Must be at least linger.ms + request.timeout.ms."},
    {"enable.auto.commit", RV__PROP_BOOLEAN, "true", NORANGE, NULL,
     "If true the consumer's offsets are periodically committed in the background (from "
     "poll), and on close."},
    {"enable.idempotence", RV__PROP_BOOLEAN, "true", NORANGE, NULL,
     "When true the producer writes exactly one copy of each record: it gets a producer id from "
     "the broker and numbers its batches, and the broker drops retried duplicates. Requires acks "
     "all; when not set explicitly it is turned off by a conflicting acks."},
    {"fetch.max.bytes", RV__PROP_INT, "52428800", 0, NOMAX, NULL,
     "The maximum amount of data a consumer fetch returns. Records are fetched in batches; if "
     "the first batch of the first non-empty partition is larger, it is still returned so the "
     "consumer can make progress."},
    {"group.id", RV__PROP_STRING, NULL, NORANGE, NULL,
     "A unique string that identifies the consumer group this consumer belongs to. Required by "
     "subscribe() and by offset commits."},
    {"heartbeat.interval.ms", RV__PROP_INT, "3000", 0, NOMAX, NULL,
     "The expected time between heartbeats to the group coordinator. Must be lower than "
     "session.timeout.ms, typically no higher than a third of it."},
    {"isolation.level", RV__PROP_ENUM, "read_uncommitted", NORANGE, isolation_levels,
     "How to read transactionally written records: read_committed returns only committed "
     "transactional records, read_uncommitted returns all records. Non-transactional records "
     "are returned either way."},
    {"linger.ms", RV__PROP_LONG, "0", 0, NOMAX, NULL,
     "How long the producer waits for more records before sending a batch that is not full, "
     "trading a little latency for fewer, larger batches."},
    {"max.block.ms", RV__PROP_LONG, "60000", 0, NOMAX, NULL,
     "How long send may block when buffer.memory is full before it fails."},
    {"max.in.flight.requests.per.connection", RV__PROP_INT, "5", 1, NOMAX, NULL,
     "The maximum number of unacknowledged requests the client sends on a connection; at most 5 "
     "with enable.idempotence. The embedded backend appends one batch at a time."},
    {"max.partition.fetch.bytes", RV__PROP_INT, "1048576", 0, NOMAX, NULL,
     "The maximum amount of data per partition a fetch returns. If the first record batch of a "
     "partition is larger, it is still returned so the consumer can make progress."},
    {"max.poll.interval.ms", RV__PROP_INT, "300000", 1, NOMAX, NULL,
     "The maximum delay between polls of a group member. If poll() is not called before it "
     "expires, the consumer leaves the group so its partitions go to another member."},
    {"max.poll.records", RV__PROP_INT, "500", 1, NOMAX, NULL,
     "The maximum number of records returned by a single call to poll()."},
    {"max.request.size", RV__PROP_INT, "1048576", 0, NOMAX, NULL,
     "The maximum size of a request in bytes, and so of one record: larger records fail at send "
     "with MESSAGE_TOO_LARGE."},
    {"max.task.idle.ms", RV__PROP_LONG, "0", -1, NOMAX, NULL,
     "How long a stream task with several input partitions waits for an empty partition that is "
     "caught up before it processes the others' records without it (Kafka's KIP-695). At 0 it "
     "still waits while the partition's lag on the broker is unknown or positive, i.e. until "
     "what the broker holds has been fetched; -1 never waits."},
    {"metadata.max.age.ms", RV__PROP_LONG, "300000", 0, NOMAX, NULL,
     "The period after which the client refreshes its metadata (partition counts) even without "
     "a change, to see new partitions."},
    {"num.stream.threads", RV__PROP_INT, "1", 1, NOMAX, NULL,
     "The number of threads to execute stream processing."},
    {"partition.assignment.strategy", RV__PROP_LIST, "range", NORANGE, assignment_strategies,
     "The assignors the consumer supports, in order of preference, that the group leader uses "
     "to divide partitions among the members: range, roundrobin or cooperative-sticky (Kafka's "
     "class names such as org.apache.kafka.clients.consumer.RangeAssignor are accepted too). "
     "All members must share one."},
    {"processing.guarantee", RV__PROP_ENUM, "at_least_once", NORANGE, streams_guarantees,
     "The processing guarantee of a stream application: at_least_once. exactly_once_v2 is "
     "refused for now (it needs transactions)."},
    {"repartition.purge.interval.ms", RV__PROP_LONG, "30000", 0, NOMAX, NULL,
     "The frequency in milliseconds with which a stream application deletes the fully "
     "consumed records of its repartition topics (delete-records up to the committed offset). "
     "Purging happens after a commit at least this long after the last purge."},
    {"request.timeout.ms", RV__PROP_INT, "30000", 0, NOMAX, NULL,
     "How long the client waits for the response of a request before it retries or fails it."},
    {"retries", RV__PROP_INT, "2147483647", 0, NOMAX, NULL,
     "How many times the producer resends a batch after a retriable error, within "
     "delivery.timeout.ms."},
    {"retry.backoff.ms", RV__PROP_LONG, "100", 0, NOMAX, NULL,
     "The time to wait before retrying a failed request."},
    {"session.timeout.ms", RV__PROP_INT, "45000", 1, NOMAX, NULL,
     "The timeout used to detect consumer failures: a member that sends no heartbeat for this "
     "long is removed from the group and a rebalance starts."},
    {"state.dir", RV__PROP_STRING, "/tmp/kafka-streams", NORANGE, NULL,
     "Directory location for state stores: each application keeps its tasks' stores and "
     "checkpoints in <state.dir>/<application.id>/<task id>."},
    {NULL, RV__PROP_STRING, NULL, NORANGE, NULL, NULL},
};
