/* tests/unit/test_assignor.c: client/assignor.c: ConsumerProtocol bytes
 * against hand-built ones, and the range / roundrobin assignors against
 * the expectations of Kafka's RangeAssignorTest and RoundRobinAssignorTest;
 * cooperative-sticky by its rules (balance, stickiness, two phases). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "client/assignor.h"

/* ---- byte formats ---- */

static void test_subscription_bytes(void **state) {
    (void)state;
    char *topics[] = {"t"};
    int32_t p0[] = {0};
    rv__topic_parts_t owned = {"t", p0, 1};
    rv__subscription_t s = {1, topics, 1, NULL, -1, &owned, 1, -1, NULL};
    static const uint8_t v1[] = {0, 1, 0, 0, 0, 1,   0, 1, 't', 0xff, 0xff, 0xff, 0xff, 0,
                                 0, 0, 1, 0, 1, 't', 0, 0, 0,   1,    0,    0,    0,    0};
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(rv__subscription_encode(&b, &s), 0);
    assert_int_equal(b.len, sizeof v1);
    assert_memory_equal(b.data, v1, sizeof v1);

    /* v3 adds the generation and a (null) rack. */
    b.len = 0;
    s.version = 3;
    s.generation_id = 7;
    assert_int_equal(rv__subscription_encode(&b, &s), 0);
    assert_int_equal(b.len, sizeof v1 + 4 + 2);
    assert_memory_equal(b.data + sizeof v1, "\0\0\0\x07\xff\xff", 6);

    rv__subscription_t d;
    assert_int_equal(rv__subscription_decode(&d, b.data, b.len), 0);
    assert_int_equal(d.version, 3);
    assert_int_equal(d.topic_cnt, 1);
    assert_string_equal(d.topics[0], "t");
    assert_int_equal(d.user_data_len, -1);
    assert_null(d.user_data);
    assert_int_equal(d.owned_cnt, 1);
    assert_int_equal(d.owned[0].partitions[0], 0);
    assert_int_equal(d.generation_id, 7);
    assert_null(d.rack_id);
    rv__subscription_clear(&d);

    /* A v0 reader's view (kafka-python, kafkajs write v0): no owned. */
    static const uint8_t v0[] = {0, 0, 0, 0, 0, 2, 0, 1, 'a', 0, 1, 'b', 0, 0, 0, 1, 'U'};
    assert_int_equal(rv__subscription_decode(&d, v0, sizeof v0), 0);
    assert_int_equal(d.topic_cnt, 2);
    assert_string_equal(d.topics[1], "b");
    assert_int_equal(d.user_data_len, 1);
    assert_int_equal(d.owned_cnt, 0);
    assert_int_equal(d.generation_id, -1);
    rv__subscription_clear(&d);

    /* A future version with trailing bytes still parses. */
    b.len = 0;
    rv__buf_append(&b, v1, sizeof v1);
    b.data[1] = 9;
    rv__buf_append(&b, "\0\0\0\x01\0\x01xEXTRA", 11);
    assert_int_equal(rv__subscription_decode(&d, b.data, b.len), 0);
    assert_int_equal(d.version, 9);
    assert_int_equal(d.generation_id, 1);
    assert_string_equal(d.rack_id, "x");
    rv__subscription_clear(&d);

    /* Truncated. */
    assert_int_equal(rv__subscription_decode(&d, v1, sizeof v1 - 1), RV_ERR__BAD_MSG);
    rv__subscription_clear(&d);
    rv__buf_free(&b);
}

static void test_assignment_bytes(void **state) {
    (void)state;
    int32_t ps[] = {0, 1};
    rv__topic_parts_t tp = {"t", ps, 2};
    rv__assignment_t a = {0, &tp, 1, NULL, -1};
    static const uint8_t v0[] = {0, 0, 0, 0, 0, 1, 0, 1, 't',  0,    0,    0,   2,
                                 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff};
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(rv__assignment_encode(&b, &a), 0);
    assert_int_equal(b.len, sizeof v0);
    assert_memory_equal(b.data, v0, sizeof v0);
    rv__assignment_t d;
    assert_int_equal(rv__assignment_decode(&d, v0, sizeof v0), 0);
    assert_int_equal(d.cnt, 1);
    assert_int_equal(d.parts[0].cnt, 2);
    assert_int_equal(d.parts[0].partitions[1], 1);
    rv__assignment_clear(&d);
    /* Zero bytes: a legal empty assignment. */
    assert_int_equal(rv__assignment_decode(&d, "", 0), 0);
    assert_int_equal(d.cnt, 0);
    rv__assignment_clear(&d);
    assert_int_equal(rv__assignment_decode(&d, v0, 5), RV_ERR__BAD_MSG);
    rv__assignment_clear(&d);
    rv__buf_free(&b);
}

/* ---- assignors ---- */

#define MAXM 4

typedef struct grp_s {
    rv__subscription_t subs[MAXM];
    rv__assignor_member_t ms[MAXM];
    rv__assignment_t out[MAXM];
    size_t n;
} grp_t;

/* Adds a member subscribed to a comma-separated topic list. */
static void add_member(grp_t *g, const char *id, const char *instance, const char *topics) {
    rv__subscription_t *s = &g->subs[g->n];
    memset(s, 0, sizeof *s);
    s->version = 3;
    s->user_data_len = -1;
    s->generation_id = -1;
    char *copy = strdup(topics), *save = NULL;
    s->topics = calloc(8, sizeof *s->topics);
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        s->topics[s->topic_cnt++] = strdup(t);
    free(copy);
    g->ms[g->n].member_id = id;
    g->ms[g->n].group_instance_id = instance;
    g->ms[g->n].subscription = s;
    g->n++;
}

static void own(grp_t *g, size_t m, const char *topic, int32_t p, int32_t gen) {
    assert_int_equal(rv__topic_parts_add(&g->subs[m].owned, &g->subs[m].owned_cnt, topic, p), 0);
    g->subs[m].generation_id = gen;
}

static void run(grp_t *g, const char *name, const rv__assignor_topic_t *ts, size_t tn) {
    memset(g->out, 0, sizeof g->out);
    char es[256];
    assert_int_equal(rv__assignor_assign(name, g->ms, g->n, ts, tn, g->out, es, sizeof es), 0);
}

/* The assignment of member m as "topic-p,topic-p" in sorted order. */
static const char *got(grp_t *g, size_t m) {
    static char buf[512];
    buf[0] = '\0';
    for (size_t i = 0; i < g->out[m].cnt; i++)
        for (size_t j = 0; j < g->out[m].parts[i].cnt; j++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s-%d", buf[0] ? "," : "",
                     g->out[m].parts[i].topic, g->out[m].parts[i].partitions[j]);
    return buf;
}

static void grp_free(grp_t *g) {
    for (size_t i = 0; i < g->n; i++) {
        rv__subscription_clear(&g->subs[i]);
        rv__assignment_clear(&g->out[i]);
    }
}

static void test_range(void **state) {
    (void)state;
    grp_t g;
    /* testOneConsumerOneTopic / testOnlyAssignsPartitionsFromSubscribedTopics */
    memset(&g, 0, sizeof g);
    rv__assignor_topic_t t1[] = {{"topic", 3}, {"other", 3}};
    add_member(&g, "consumer", NULL, "topic");
    run(&g, "range", t1, 2);
    assert_string_equal(got(&g, 0), "topic-0,topic-1,topic-2");
    assert_int_equal(g.out[0].version, RV__ASSIGNMENT_VERSION);
    grp_free(&g);

    /* testOneConsumerNonexistentTopic */
    memset(&g, 0, sizeof g);
    add_member(&g, "consumer", NULL, "missing");
    run(&g, "range", t1, 2);
    assert_string_equal(got(&g, 0), "");
    grp_free(&g);

    /* testTwoConsumersOneTopicOnePartition */
    memset(&g, 0, sizeof g);
    rv__assignor_topic_t one[] = {{"topic", 1}};
    add_member(&g, "consumer1", NULL, "topic");
    add_member(&g, "consumer2", NULL, "topic");
    run(&g, "range", one, 1);
    assert_string_equal(got(&g, 0), "topic-0");
    assert_string_equal(got(&g, 1), "");
    grp_free(&g);

    /* testMultipleConsumersMixedTopics */
    memset(&g, 0, sizeof g);
    rv__assignor_topic_t mixed[] = {{"topic1", 3}, {"topic2", 2}};
    add_member(&g, "consumer1", NULL, "topic1");
    add_member(&g, "consumer2", NULL, "topic1,topic2");
    add_member(&g, "consumer3", NULL, "topic1");
    run(&g, "range", mixed, 2);
    assert_string_equal(got(&g, 0), "topic1-0");
    assert_string_equal(got(&g, 1), "topic1-1,topic2-0,topic2-1");
    assert_string_equal(got(&g, 2), "topic1-2");
    grp_free(&g);

    /* testTwoConsumersTwoTopicsSixPartitions, members given out of order */
    memset(&g, 0, sizeof g);
    rv__assignor_topic_t six[] = {{"topic1", 3}, {"topic2", 3}};
    add_member(&g, "consumer2", NULL, "topic1,topic2");
    add_member(&g, "consumer1", NULL, "topic1,topic2");
    run(&g, "range", six, 2);
    assert_string_equal(got(&g, 1), "topic1-0,topic1-1,topic2-0,topic2-1");
    assert_string_equal(got(&g, 0), "topic1-2,topic2-2");
    grp_free(&g);

    /* Static members sort by group.instance.id, before dynamic ones. */
    memset(&g, 0, sizeof g);
    add_member(&g, "a-dynamic", NULL, "topic1");
    add_member(&g, "z-static", "instance1", "topic1");
    run(&g, "range", six, 2);
    assert_string_equal(got(&g, 1), "topic1-0,topic1-1");
    assert_string_equal(got(&g, 0), "topic1-2");
    grp_free(&g);
}

static void test_roundrobin(void **state) {
    (void)state;
    grp_t g;
    /* testTwoConsumersTwoTopicsSixPartitions */
    memset(&g, 0, sizeof g);
    rv__assignor_topic_t six[] = {{"topic1", 3}, {"topic2", 3}};
    add_member(&g, "consumer1", NULL, "topic1,topic2");
    add_member(&g, "consumer2", NULL, "topic1,topic2");
    run(&g, "roundrobin", six, 2);
    assert_string_equal(got(&g, 0), "topic1-0,topic1-2,topic2-1");
    assert_string_equal(got(&g, 1), "topic1-1,topic2-0,topic2-2");
    grp_free(&g);

    /* testMultipleConsumersMixedTopics */
    memset(&g, 0, sizeof g);
    rv__assignor_topic_t mixed[] = {{"topic1", 3}, {"topic2", 2}};
    add_member(&g, "consumer1", NULL, "topic1");
    add_member(&g, "consumer2", NULL, "topic1,topic2");
    add_member(&g, "consumer3", NULL, "topic1");
    run(&g, "roundrobin", mixed, 2);
    assert_string_equal(got(&g, 0), "topic1-0");
    assert_string_equal(got(&g, 1), "topic1-1,topic2-0,topic2-1");
    assert_string_equal(got(&g, 2), "topic1-2");
    grp_free(&g);

    /* testTwoStaticConsumersTwoTopicsSixPartitions */
    memset(&g, 0, sizeof g);
    add_member(&g, "consumer1-uuid", "instance1", "topic1,topic2");
    add_member(&g, "consumer2-uuid", "instance2", "topic1,topic2");
    run(&g, "roundrobin", six, 2);
    assert_string_equal(got(&g, 0), "topic1-0,topic1-2,topic2-1");
    assert_string_equal(got(&g, 1), "topic1-1,topic2-0,topic2-2");
    grp_free(&g);

    /* More members than partitions: the rest stay idle. */
    memset(&g, 0, sizeof g);
    rv__assignor_topic_t one[] = {{"t", 1}};
    add_member(&g, "a", NULL, "t");
    add_member(&g, "b", NULL, "t");
    run(&g, "roundrobin", one, 1);
    assert_string_equal(got(&g, 0), "t-0");
    assert_string_equal(got(&g, 1), "");
    grp_free(&g);

    char es[256];
    rv__assignment_t out[1];
    assert_int_equal(rv__assignor_assign("sticky-ish", NULL, 0, NULL, 0, out, es, sizeof es),
                     RV_ERR__INVALID_ARG);
    assert_true(rv__assignor_supported("cooperative-sticky"));
    assert_false(rv__assignor_supported("nope"));
}

static size_t total(grp_t *g, size_t m) {
    return rv__topic_parts_total(g->out[m].parts, g->out[m].cnt);
}

static void test_cooperative_sticky(void **state) {
    (void)state;
    rv__assignor_topic_t six[] = {{"t", 6}};
    grp_t g;

    /* Fresh group: balanced. */
    memset(&g, 0, sizeof g);
    add_member(&g, "a", NULL, "t");
    add_member(&g, "b", NULL, "t");
    add_member(&g, "c", NULL, "t");
    run(&g, "cooperative-sticky", six, 1);
    assert_int_equal(total(&g, 0), 2);
    assert_int_equal(total(&g, 1), 2);
    assert_int_equal(total(&g, 2), 2);
    grp_free(&g);

    /* a and b own 3 each; c joins. Each keeps two of its own; the moved
     * ones are withheld from c in this first phase. */
    memset(&g, 0, sizeof g);
    add_member(&g, "a", NULL, "t");
    add_member(&g, "b", NULL, "t");
    add_member(&g, "c", NULL, "t");
    for (int p = 0; p < 3; p++) {
        own(&g, 0, "t", p, 1);
        own(&g, 1, "t", p + 3, 1);
    }
    run(&g, "cooperative-sticky", six, 1);
    assert_int_equal(total(&g, 0), 2);
    assert_int_equal(total(&g, 1), 2);
    assert_int_equal(total(&g, 2), 0);
    for (size_t i = 0; i < g.out[0].parts[0].cnt; i++)
        assert_true(g.out[0].parts[0].partitions[i] < 3);
    for (size_t i = 0; i < g.out[1].parts[0].cnt; i++)
        assert_true(g.out[1].parts[0].partitions[i] >= 3);
    /* Second phase: everyone owns what they got; c gets the two revoked. */
    rv__assignment_t first[3];
    memcpy(first, g.out, sizeof first);
    for (size_t m = 0; m < 2; m++) {
        rv__topic_parts_free(g.subs[m].owned, g.subs[m].owned_cnt);
        g.subs[m].owned = NULL;
        g.subs[m].owned_cnt = 0;
        for (size_t i = 0; i < first[m].parts[0].cnt; i++)
            own(&g, m, "t", first[m].parts[0].partitions[i], 2);
    }
    for (size_t m = 0; m < 3; m++)
        rv__assignment_clear(&first[m]);
    run(&g, "cooperative-sticky", six, 1);
    assert_int_equal(total(&g, 0), 2);
    assert_int_equal(total(&g, 1), 2);
    assert_int_equal(total(&g, 2), 2);
    assert_string_equal(got(&g, 0), "t-0,t-1");
    assert_string_equal(got(&g, 1), "t-3,t-4");
    assert_string_equal(got(&g, 2), "t-2,t-5");
    grp_free(&g);

    /* A member leaves: its partitions go to the others, nobody else moves. */
    memset(&g, 0, sizeof g);
    add_member(&g, "a", NULL, "t");
    add_member(&g, "b", NULL, "t");
    own(&g, 0, "t", 0, 3);
    own(&g, 0, "t", 1, 3);
    own(&g, 1, "t", 2, 3);
    own(&g, 1, "t", 3, 3);
    run(&g, "cooperative-sticky", six, 1);
    assert_int_equal(total(&g, 0), 3);
    assert_int_equal(total(&g, 1), 3);
    assert_true(strstr(got(&g, 0), "t-0,t-1") != NULL);
    assert_true(strstr(got(&g, 1), "t-2,t-3") != NULL);
    grp_free(&g);

    /* Two claims in one generation: nobody keeps it; a higher generation
     * wins. */
    memset(&g, 0, sizeof g);
    rv__assignor_topic_t two[] = {{"t", 2}};
    add_member(&g, "a", NULL, "t");
    add_member(&g, "b", NULL, "t");
    own(&g, 0, "t", 0, 5);
    own(&g, 1, "t", 0, 4);
    own(&g, 1, "t", 1, 4);
    run(&g, "cooperative-sticky", two, 1);
    assert_string_equal(got(&g, 0), "t-0");
    assert_string_equal(got(&g, 1), "t-1");
    grp_free(&g);

    /* Different subscriptions: balanced as far as they allow. */
    memset(&g, 0, sizeof g);
    rv__assignor_topic_t tt[] = {{"t1", 2}, {"t2", 2}};
    add_member(&g, "a", NULL, "t1");
    add_member(&g, "b", NULL, "t1,t2");
    run(&g, "cooperative-sticky", tt, 2);
    assert_string_equal(got(&g, 0), "t1-0,t1-1");
    assert_string_equal(got(&g, 1), "t2-0,t2-1");
    grp_free(&g);

    /* More members than partitions. */
    memset(&g, 0, sizeof g);
    add_member(&g, "a", NULL, "t");
    add_member(&g, "b", NULL, "t");
    add_member(&g, "c", NULL, "t");
    run(&g, "cooperative-sticky", two, 1);
    assert_int_equal(total(&g, 0) + total(&g, 1) + total(&g, 2), 2);
    assert_int_equal(total(&g, 2), 0);
    grp_free(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscription_bytes),
        cmocka_unit_test(test_assignment_bytes),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_roundrobin),
        cmocka_unit_test(test_cooperative_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
