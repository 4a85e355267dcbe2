/* fuzz/fuzz_kafka_request.c: libFuzzer target for the Kafka request path
 * of the network broker: header parsing (rv__kreq_parse), the version
 * check and every handler's body decoder, run through rv__kapi_call
 * against a real broker in a scratch folder, exactly as the server runs a
 * frame it has read (the input is one frame without its size prefix).
 *
 * The broker lives across inputs (opening one per input would leave little
 * time for decoding) and is replaced every RESET_EVERY inputs so the data
 * fuzzed requests produce stays small. Three things are steered, because
 * they are resource use and waiting, not decoding:
 *  - Fetch's max_wait_ms is forced to 0, so a fetch never long-polls;
 *  - JoinGroup and SyncGroup are skipped: they wait for other members up
 *    to timeouts the input chooses (their decoders are covered by the unit
 *    tests);
 *  - CreateTopics and CreatePartitions are skipped: a valid request may
 *    ask for millions of partitions, each a folder.
 * A response must come back for every request the server would answer
 * (DONE), and a CLOSE must leave nothing behind but the closed connection.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group_coordinator.h"
#include "broker/kafka/api.h"
#include "fuzz/fuzzutil.h"
#include "rivulet/broker.h"

#define RESET_EVERY 500

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir;
static rv_broker_t *broker;
static rv__kctx_t ctx;
static int runs;

static void broker_up(void) {
    dir = rvf_tmpdir();
    char errstr[512];
    if (rv_broker_open(&broker, dir, errstr, sizeof errstr))
        rvf_check(!"rv_broker_open failed");
    rv__group_config_t gcfg;
    rv__group_config_default(&gcfg);
    gcfg.initial_rebalance_delay_ms = 0;
    gcfg.offsets_partitions = 1;
    rv__group_coordinator_set_config(rv__broker_group_coordinator(broker), &gcfg);
    memset(&ctx, 0, sizeof ctx);
    ctx.broker = broker;
    ctx.node_id = 1;
    ctx.advertised_host = "127.0.0.1";
    ctx.advertised_port = 9092;
    ctx.cluster_id = "fuzz-cluster";
    ctx.auto_create_topics = true;
    ctx.num_partitions = 1;
}

static void broker_down(void) {
    rv_broker_close(broker);
    rvf_rmtree(dir);
    free(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    rvf_quiet_logs();
    broker_up();
    atexit(broker_down);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 8 || size > (1 << 20))
        return 0;
    int16_t key = (int16_t)((data[0] << 8) | data[1]);
    if (key == RV__KAPI_JOIN_GROUP || key == RV__KAPI_SYNC_GROUP || key == RV__KAPI_CREATE_TOPICS ||
        key == RV__KAPI_CREATE_PARTITIONS)
        return 0;
    uint8_t *frame = malloc(size);
    if (!frame)
        return 0;
    memcpy(frame, data, size);
    if (key == RV__KAPI_FETCH && size >= 10) {
        /* After the header (key, version, correlation id, client id):
         * replica_id, then max_wait_ms. */
        size_t idlen = (size_t)((frame[8] << 8) | frame[9]);
        size_t at = 10 + (idlen == 0xffff ? 0 : idlen) + 4;
        if (at + 4 <= size)
            memset(frame + at, 0, 4);
    }
    rv__kw_t resp;
    rv__kapi_status_t st = rv__kapi_call(&ctx, frame, size, &resp);
    if (st == RV__KAPI_DONE)
        rvf_check(!resp.err);
    rv__kw_free(&resp);
    free(frame);
    if (++runs % RESET_EVERY == 0) {
        broker_down();
        broker_up();
    }
    return 0;
}
