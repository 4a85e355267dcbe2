/* client/assignor.c: Kafka's ConsumerProtocol subscription and assignment
 * bytes, and the partition assignors a group leader runs
 * (client/assignor.h): RangeAssignor, RoundRobinAssignor and
 * CooperativeStickyAssignor, as the Java client does them. The broker
 * side of the group protocol is broker/group_coordinator.c.
 *
 * DESIGN (cooperative-sticky)
 *
 * Every partition of the subscribed topics gets an index in one flat array
 * (topics sorted by name, then partition). A member's owned partitions
 * (from its subscription) are claims; a claim is valid when the member
 * still subscribes to the topic and the partition exists, and when two
 * members claim one partition the higher generation wins (a tie: nobody
 * keeps it). The assignment starts from the valid claims. Then:
 *  1. each unowned partition goes to the subscribed member with the fewest
 *     partitions (ties: member order);
 *  2. while some member A has two or more partitions more than a member B
 *     that could take one of them, one moves from A to B, preferring a
 *     partition A did not own before (that move costs no revocation).
 * Each move lowers the sum of squared counts, so it ends; it ends balanced
 * as far as the subscriptions allow, and owned partitions only move when
 * balance needs it. Finally a partition that changes owner is withheld from
 * its new owner: the old owner sees it missing, revokes it and rejoins, and
 * the next rebalance hands it over (KIP-429). */
#include "client/assignor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errstr.h"

/* ---- topic parts ---- */

rv_err_t rv__topic_parts_add(rv__topic_parts_t **parts, size_t *cnt, const char *topic,
                             int32_t partition) {
    size_t i = 0;
    while (i < *cnt && strcmp((*parts)[i].topic, topic) < 0)
        i++;
    if (i == *cnt || strcmp((*parts)[i].topic, topic)) {
        rv__topic_parts_t *n = realloc(*parts, (*cnt + 1) * sizeof *n);
        if (!n)
            return RV_ERR__NOMEM;
        *parts = n;
        char *t = strdup(topic);
        if (!t)
            return RV_ERR__NOMEM;
        memmove(&n[i + 1], &n[i], (*cnt - i) * sizeof *n);
        n[i].topic = t;
        n[i].partitions = NULL;
        n[i].cnt = 0;
        (*cnt)++;
    }
    rv__topic_parts_t *tp = &(*parts)[i];
    size_t j = 0;
    while (j < tp->cnt && tp->partitions[j] < partition)
        j++;
    if (j < tp->cnt && tp->partitions[j] == partition)
        return RV_ERR_NO_ERROR;
    int32_t *np = realloc(tp->partitions, (tp->cnt + 1) * sizeof *np);
    if (!np)
        return RV_ERR__NOMEM;
    tp->partitions = np;
    memmove(&np[j + 1], &np[j], (tp->cnt - j) * sizeof *np);
    np[j] = partition;
    tp->cnt++;
    return RV_ERR_NO_ERROR;
}

void rv__topic_parts_free(rv__topic_parts_t *parts, size_t cnt) {
    for (size_t i = 0; parts && i < cnt; i++) {
        free(parts[i].topic);
        free(parts[i].partitions);
    }
    free(parts);
}

size_t rv__topic_parts_total(const rv__topic_parts_t *parts, size_t cnt) {
    size_t n = 0;
    for (size_t i = 0; i < cnt; i++)
        n += parts[i].cnt;
    return n;
}

/* ---- encoding ---- */

static rv_err_t put_str(rv__buf_t *b, const char *s, bool nullable) {
    if (!s && nullable)
        return rv__buf_put_be16(b, 0xffff);
    size_t n = s ? strlen(s) : 0;
    if (n > INT16_MAX)
        return RV_ERR__INVALID_ARG;
    rv_err_t err = rv__buf_put_be16(b, (uint16_t)n);
    return err ? err : rv__buf_append(b, s, n);
}

static rv_err_t put_bytes(rv__buf_t *b, const uint8_t *p, int32_t len) {
    if (!p || len < 0)
        return rv__buf_put_be32(b, 0xffffffffu);
    rv_err_t err = rv__buf_put_be32(b, (uint32_t)len);
    return err || !len ? err : rv__buf_append(b, p, (size_t)len);
}

static rv_err_t put_parts(rv__buf_t *b, const rv__topic_parts_t *parts, size_t cnt) {
    rv_err_t err = rv__buf_put_be32(b, (uint32_t)cnt);
    for (size_t i = 0; !err && i < cnt; i++) {
        if ((err = put_str(b, parts[i].topic, false)) ||
            (err = rv__buf_put_be32(b, (uint32_t)parts[i].cnt)))
            break;
        for (size_t j = 0; !err && j < parts[i].cnt; j++)
            err = rv__buf_put_be32(b, (uint32_t)parts[i].partitions[j]);
    }
    return err;
}

rv_err_t rv__subscription_encode(rv__buf_t *out, const rv__subscription_t *s) {
    if (s->version < 0 || s->version > 3)
        return RV_ERR__INVALID_ARG;
    rv_err_t err;
    if ((err = rv__buf_put_be16(out, (uint16_t)s->version)) ||
        (err = rv__buf_put_be32(out, (uint32_t)s->topic_cnt)))
        return err;
    for (size_t i = 0; i < s->topic_cnt; i++)
        if ((err = put_str(out, s->topics[i], false)))
            return err;
    if ((err = put_bytes(out, s->user_data, s->user_data_len)))
        return err;
    if (s->version >= 1 && (err = put_parts(out, s->owned, s->owned_cnt)))
        return err;
    if (s->version >= 2 && (err = rv__buf_put_be32(out, (uint32_t)s->generation_id)))
        return err;
    if (s->version >= 3 && (err = put_str(out, s->rack_id, true)))
        return err;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__assignment_encode(rv__buf_t *out, const rv__assignment_t *a) {
    if (a->version < 0 || a->version > 3)
        return RV_ERR__INVALID_ARG;
    rv_err_t err;
    if ((err = rv__buf_put_be16(out, (uint16_t)a->version)) ||
        (err = put_parts(out, a->parts, a->cnt)) ||
        (err = put_bytes(out, a->user_data, a->user_data_len)))
        return err;
    return RV_ERR_NO_ERROR;
}

/* ---- decoding ---- */

static int get_str(rv__slice_t *s, char **out, bool nullable) {
    uint16_t n;
    const uint8_t *p;
    *out = NULL;
    if (rv__slice_be16(s, &n))
        return -1;
    if ((int16_t)n < 0)
        return nullable && (int16_t)n == -1 ? 0 : -1;
    if (rv__slice_bytes(s, n, &p) || !(*out = malloc((size_t)n + 1)))
        return -1;
    memcpy(*out, p, n);
    (*out)[n] = '\0';
    return 0;
}

static int get_bytes(rv__slice_t *s, uint8_t **out, int32_t *len) {
    uint32_t n;
    const uint8_t *p;
    *out = NULL;
    *len = -1;
    if (rv__slice_be32(s, &n))
        return -1;
    if ((int32_t)n < 0)
        return (int32_t)n == -1 ? 0 : -1;
    if (rv__slice_bytes(s, n, &p) || !(*out = malloc(n ? n : 1)))
        return -1;
    memcpy(*out, p, n);
    *len = (int32_t)n;
    return 0;
}

static int get_parts(rv__slice_t *s, rv__topic_parts_t **parts, size_t *cnt) {
    uint32_t n;
    if (rv__slice_be32(s, &n) || (int32_t)n < 0 || n > rv__slice_left(s) / 6)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        char *topic;
        uint32_t pn;
        if (get_str(s, &topic, false))
            return -1;
        if (rv__slice_be32(s, &pn) || (int32_t)pn < 0 || pn > rv__slice_left(s) / 4) {
            free(topic);
            return -1;
        }
        for (uint32_t j = 0; j < pn; j++) {
            uint32_t p;
            if (rv__slice_be32(s, &p) || rv__topic_parts_add(parts, cnt, topic, (int32_t)p)) {
                free(topic);
                return -1;
            }
        }
        free(topic);
    }
    return 0;
}

void rv__subscription_clear(rv__subscription_t *s) {
    for (size_t i = 0; i < s->topic_cnt; i++)
        free(s->topics[i]);
    free(s->topics);
    free(s->user_data);
    rv__topic_parts_free(s->owned, s->owned_cnt);
    free(s->rack_id);
    memset(s, 0, sizeof *s);
    s->generation_id = -1;
    s->user_data_len = -1;
}

rv_err_t rv__subscription_decode(rv__subscription_t *s, const void *p, size_t len) {
    memset(s, 0, sizeof *s);
    s->generation_id = -1;
    s->user_data_len = -1;
    rv__slice_t sl;
    rv__slice_init(&sl, p, len);
    uint16_t ver;
    uint32_t n;
    if (rv__slice_be16(&sl, &ver) || (int16_t)ver < 0 || rv__slice_be32(&sl, &n) ||
        (int32_t)n < 0 || n > rv__slice_left(&sl) / 2)
        return RV_ERR__BAD_MSG;
    s->version = (int16_t)ver;
    if (n && !(s->topics = calloc(n, sizeof *s->topics)))
        return RV_ERR__NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if (get_str(&sl, &s->topics[i], false))
            return RV_ERR__BAD_MSG;
        s->topic_cnt++;
    }
    if (get_bytes(&sl, &s->user_data, &s->user_data_len))
        return RV_ERR__BAD_MSG;
    if (s->version >= 1 && get_parts(&sl, &s->owned, &s->owned_cnt))
        return RV_ERR__BAD_MSG;
    uint32_t gen;
    if (s->version >= 2) {
        if (rv__slice_be32(&sl, &gen))
            return RV_ERR__BAD_MSG;
        s->generation_id = (int32_t)gen;
    }
    if (s->version >= 3 && get_str(&sl, &s->rack_id, true))
        return RV_ERR__BAD_MSG;
    return RV_ERR_NO_ERROR;
}

void rv__assignment_clear(rv__assignment_t *a) {
    rv__topic_parts_free(a->parts, a->cnt);
    free(a->user_data);
    memset(a, 0, sizeof *a);
    a->user_data_len = -1;
}

rv_err_t rv__assignment_decode(rv__assignment_t *a, const void *p, size_t len) {
    memset(a, 0, sizeof *a);
    a->user_data_len = -1;
    if (!len)
        return RV_ERR_NO_ERROR;
    rv__slice_t sl;
    rv__slice_init(&sl, p, len);
    uint16_t ver;
    if (rv__slice_be16(&sl, &ver) || (int16_t)ver < 0 || get_parts(&sl, &a->parts, &a->cnt) ||
        get_bytes(&sl, &a->user_data, &a->user_data_len))
        return RV_ERR__BAD_MSG;
    a->version = (int16_t)ver;
    return RV_ERR_NO_ERROR;
}

/* ---- shared assignor helpers ---- */

bool rv__assignor_supported(const char *name) {
    return name && (!strcmp(name, RV__ASSIGNOR_RANGE) || !strcmp(name, RV__ASSIGNOR_ROUNDROBIN) ||
                    !strcmp(name, RV__ASSIGNOR_COOPERATIVE_STICKY));
}

/* Kafka's MemberInfo order: static members by group.instance.id first,
 * then dynamic ones by member id. */
static int member_cmp(const rv__assignor_member_t *a, const rv__assignor_member_t *b) {
    if (a->group_instance_id && b->group_instance_id)
        return strcmp(a->group_instance_id, b->group_instance_id);
    if (a->group_instance_id)
        return -1;
    if (b->group_instance_id)
        return 1;
    return strcmp(a->member_id, b->member_id);
}

/* Member indexes in Kafka's order (an insertion sort: qsort has no
 * context argument, and groups are small). */
static size_t *sorted_members(const rv__assignor_member_t *ms, size_t n) {
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && member_cmp(&ms[idx[j - 1]], &ms[i]) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return idx;
}

static bool subscribes(const rv__assignor_member_t *m, const char *topic) {
    for (size_t i = 0; i < m->subscription->topic_cnt; i++)
        if (!strcmp(m->subscription->topics[i], topic))
            return true;
    return false;
}

static int32_t partition_count(const rv__assignor_topic_t *ts, size_t n, const char *topic) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ts[i].topic, topic))
            return ts[i].partition_cnt;
    return -1;
}

static int str_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted, distinct topics some member subscribes to that exist in the
 * metadata. Caller frees the array (the strings are borrowed). */
static const char **subscribed_topics(const rv__assignor_member_t *ms, size_t mn,
                                      const rv__assignor_topic_t *ts, size_t tn, size_t *cnt) {
    size_t total = 0;
    for (size_t i = 0; i < mn; i++)
        total += ms[i].subscription->topic_cnt;
    const char **out = malloc((total ? total : 1) * sizeof *out);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < mn; i++)
        for (size_t j = 0; j < ms[i].subscription->topic_cnt; j++)
            if (partition_count(ts, tn, ms[i].subscription->topics[j]) > 0)
                out[n++] = ms[i].subscription->topics[j];
    qsort(out, n, sizeof *out, str_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || strcmp(out[k - 1], out[i]))
            out[k++] = out[i];
    *cnt = k;
    return out;
}

/* ---- range ---- */

static rv_err_t assign_range(const rv__assignor_member_t *ms, size_t mn,
                             const rv__assignor_topic_t *ts, size_t tn, rv__assignment_t *out) {
    size_t tcnt;
    const char **topics = subscribed_topics(ms, mn, ts, tn, &tcnt);
    size_t *order = sorted_members(ms, mn);
    size_t *subs = malloc((mn ? mn : 1) * sizeof *subs);
    rv_err_t err = topics && order && subs ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
    for (size_t t = 0; !err && t < tcnt; t++) {
        int32_t n = partition_count(ts, tn, topics[t]);
        size_t m = 0;
        for (size_t i = 0; i < mn; i++)
            if (subscribes(&ms[order[i]], topics[t]))
                subs[m++] = order[i];
        int32_t per = n / (int32_t)m, extra = n % (int32_t)m;
        for (size_t i = 0; !err && i < m; i++) {
            int32_t start = per * (int32_t)i + ((int32_t)i < extra ? (int32_t)i : extra);
            int32_t len = per + ((int32_t)i < extra ? 1 : 0);
            for (int32_t p = start; !err && p < start + len; p++)
                err = rv__topic_parts_add(&out[subs[i]].parts, &out[subs[i]].cnt, topics[t], p);
        }
    }
    free(topics);
    free(order);
    free(subs);
    return err;
}

/* ---- roundrobin ---- */

static rv_err_t assign_roundrobin(const rv__assignor_member_t *ms, size_t mn,
                                  const rv__assignor_topic_t *ts, size_t tn,
                                  rv__assignment_t *out) {
    size_t tcnt;
    const char **topics = subscribed_topics(ms, mn, ts, tn, &tcnt);
    size_t *order = sorted_members(ms, mn);
    rv_err_t err = topics && order ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
    size_t at = 0; /* the circular iterator over sorted members */
    for (size_t t = 0; !err && t < tcnt; t++) {
        int32_t n = partition_count(ts, tn, topics[t]);
        for (int32_t p = 0; !err && p < n; p++) {
            /* Some member subscribes to every topic in the list. */
            while (!subscribes(&ms[order[at]], topics[t]))
                at = (at + 1) % mn;
            size_t m = order[at];
            at = (at + 1) % mn;
            err = rv__topic_parts_add(&out[m].parts, &out[m].cnt, topics[t], p);
        }
    }
    free(topics);
    free(order);
    return err;
}

/* ---- cooperative-sticky ---- */

typedef struct sticky_s {
    size_t mn, tcnt, pn;
    const char **topics;
    int32_t *base; /* [tcnt+1] first flat index of each topic */
    bool *sub;     /* [mn * tcnt] member subscribes to topic */
    int *owner;    /* [pn] assigned member, -1 */
    int *prev;     /* [pn] valid previous owner, -1 */
    int32_t *prev_gen;
    size_t *count; /* [mn] partitions assigned */
} sticky_t;

static size_t topic_of(const sticky_t *s, size_t pid) {
    size_t t = 0;
    while ((size_t)s->base[t + 1] <= pid)
        t++;
    return t;
}

static int32_t member_generation(const rv__subscription_t *sub) {
    if (sub->generation_id >= 0)
        return sub->generation_id;
    /* Older subscriptions carry the generation in the user data, as the
     * Java CooperativeStickyAssignor writes it (one int32). */
    if (sub->user_data && sub->user_data_len == 4)
        return (int32_t)rv__be32(sub->user_data);
    return -1;
}

static rv_err_t assign_sticky(const rv__assignor_member_t *ms, size_t mn,
                              const rv__assignor_topic_t *ts, size_t tn, rv__assignment_t *out) {
    sticky_t s;
    memset(&s, 0, sizeof s);
    s.mn = mn;
    s.topics = subscribed_topics(ms, mn, ts, tn, &s.tcnt);
    size_t *order = sorted_members(ms, mn);
    rv_err_t err = RV_ERR__NOMEM;
    if (!s.topics || !order || !(s.base = calloc(s.tcnt + 1, sizeof *s.base)) ||
        !(s.sub = calloc(mn * s.tcnt + 1, sizeof *s.sub)) ||
        !(s.count = calloc(mn + 1, sizeof *s.count)))
        goto done;
    for (size_t t = 0; t < s.tcnt; t++)
        s.base[t + 1] = s.base[t] + partition_count(ts, tn, s.topics[t]);
    s.pn = (size_t)s.base[s.tcnt];
    if (!(s.owner = malloc((s.pn + 1) * sizeof *s.owner)) ||
        !(s.prev = malloc((s.pn + 1) * sizeof *s.prev)) ||
        !(s.prev_gen = malloc((s.pn + 1) * sizeof *s.prev_gen)))
        goto done;
    for (size_t p = 0; p < s.pn; p++) {
        s.owner[p] = s.prev[p] = -1;
        s.prev_gen[p] = -2;
    }
    for (size_t m = 0; m < mn; m++)
        for (size_t t = 0; t < s.tcnt; t++)
            s.sub[m * s.tcnt + t] = subscribes(&ms[m], s.topics[t]);

    /* Claims from owned partitions; a tie in generation voids the claim
     * (-3 marks "contested" for the rest of the pass). */
    for (size_t m = 0; m < mn; m++) {
        const rv__subscription_t *sub = ms[m].subscription;
        int32_t gen = member_generation(sub);
        for (size_t i = 0; i < sub->owned_cnt; i++) {
            size_t t = 0;
            while (t < s.tcnt && strcmp(s.topics[t], sub->owned[i].topic))
                t++;
            if (t == s.tcnt || !s.sub[m * s.tcnt + t])
                continue;
            for (size_t j = 0; j < sub->owned[i].cnt; j++) {
                int32_t p = sub->owned[i].partitions[j];
                if (p < 0 || p >= s.base[t + 1] - s.base[t])
                    continue;
                size_t pid = (size_t)(s.base[t] + p);
                if (gen > s.prev_gen[pid]) {
                    s.prev[pid] = (int)m;
                    s.prev_gen[pid] = gen;
                } else if (gen == s.prev_gen[pid]) {
                    s.prev[pid] = -1; /* two owners in one generation */
                }
            }
        }
    }
    for (size_t p = 0; p < s.pn; p++) {
        if (s.prev[p] >= 0) {
            s.owner[p] = s.prev[p];
            s.count[s.prev[p]]++;
        }
    }

    /* 1. Unowned partitions to the least loaded subscribed member. */
    for (size_t p = 0; p < s.pn; p++) {
        if (s.owner[p] >= 0)
            continue;
        size_t t = topic_of(&s, p);
        int best = -1;
        for (size_t i = 0; i < mn; i++) {
            size_t m = order[i];
            if (s.sub[m * s.tcnt + t] && (best < 0 || s.count[m] < s.count[best]))
                best = (int)m;
        }
        if (best >= 0) {
            s.owner[p] = best;
            s.count[best]++;
        }
    }

    /* 2. Balance: move one partition at a time from a member with two or
     * more above a member that can take it. */
    for (;;) {
        int from = -1, to = -1;
        size_t move = 0;
        bool move_owned = true;
        for (size_t p = 0; p < s.pn; p++) {
            int a = s.owner[p];
            if (a < 0)
                continue;
            size_t t = topic_of(&s, p);
            int b = -1;
            for (size_t i = 0; i < mn; i++) {
                size_t m = order[i];
                if (s.sub[m * s.tcnt + t] && (b < 0 || s.count[m] < s.count[b]))
                    b = (int)m;
            }
            if (b < 0 || s.count[b] + 1 >= s.count[a])
                continue;
            bool owned = s.prev[p] == a;
            /* The biggest gap first; then a partition that was not owned
             * by its current holder (moving it revokes nothing); then the
             * last one, so a member keeps the first of its partitions as
             * Kafka's assignor does. */
            size_t gap = s.count[a] - s.count[b];
            size_t best_gap = from < 0 ? 0 : s.count[from] - s.count[to];
            if (from < 0 || gap > best_gap || (gap == best_gap && (!owned || move_owned))) {
                from = a;
                to = b;
                move = p;
                move_owned = owned;
            }
        }
        if (from < 0)
            break;
        s.owner[move] = to;
        s.count[from]--;
        s.count[to]++;
    }

    /* 3. Output, withholding partitions that change owner. */
    err = RV_ERR_NO_ERROR;
    for (size_t p = 0; !err && p < s.pn; p++) {
        int m = s.owner[p];
        if (m < 0 || (s.prev[p] >= 0 && s.prev[p] != m))
            continue;
        size_t t = topic_of(&s, p);
        err = rv__topic_parts_add(&out[m].parts, &out[m].cnt, s.topics[t],
                                  (int32_t)(p - (size_t)s.base[t]));
    }
done:
    free(s.topics);
    free(order);
    free(s.base);
    free(s.sub);
    free(s.owner);
    free(s.prev);
    free(s.prev_gen);
    free(s.count);
    return err;
}

/* ---- entry point ---- */

rv_err_t rv__assignor_assign(const char *name, const rv__assignor_member_t *members,
                             size_t member_cnt, const rv__assignor_topic_t *topics,
                             size_t topic_cnt, rv__assignment_t *out, char *errstr,
                             size_t errstr_size) {
    if (!rv__assignor_supported(name)) {
        rv__errstr_set(errstr, errstr_size, "Unknown partition assignor %s", name ? name : "");
        return RV_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < member_cnt; i++) {
        out[i].version = RV__ASSIGNMENT_VERSION;
        out[i].user_data = NULL;
        out[i].user_data_len = -1;
    }
    if (!member_cnt)
        return RV_ERR_NO_ERROR;
    rv_err_t err;
    if (!strcmp(name, RV__ASSIGNOR_RANGE))
        err = assign_range(members, member_cnt, topics, topic_cnt, out);
    else if (!strcmp(name, RV__ASSIGNOR_ROUNDROBIN))
        err = assign_roundrobin(members, member_cnt, topics, topic_cnt, out);
    else
        err = assign_sticky(members, member_cnt, topics, topic_cnt, out);
    if (err) {
        for (size_t i = 0; i < member_cnt; i++)
            rv__assignment_clear(&out[i]);
        rv__errstr_set(errstr, errstr_size, "The %s assignor failed: %s", name, rv_err_str(err));
    }
    return err;
}
