/* client/admin.c: the admin client (include/rivulet/admin.h) and its
 * embedded backend.
 *
 * The public calls validate their arguments and dispatch through a backend
 * table chosen from bootstrap.servers when the client is made:
 * "embedded:DIR" shares the process's broker on DIR (rv_broker_open() is
 * reference-counted) and calls the topic registry (broker/topics.h)
 * directly; a host:port list selects the kafka backend (librdkafka,
 * client/kafka_admin.c), which fills the same self-contained description
 * and config-list objects from its responses through the builders below.
 * Those objects are plain copies, so they stay valid after the admin
 * client or the topic is gone. Consumer groups go to the
 * broker's group coordinator (broker/group_coordinator.h): descriptions
 * decode each member's ConsumerProtocolAssignment into a partition list.
 */
#include "rivulet/admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group_coordinator.h"
#include "broker/topic_config.h"
#include "broker/topics.h"
#include "client/assignor.h"
#include "client/kafka_admin.h"
#include "client/kafka_conf.h"
#include "common/errstr.h"
#include "rivulet/broker.h"

/* The node id of the embedded broker, reported as every partition's leader. */
#define EMBEDDED_BROKER_ID 0
#define EMBEDDED_PREFIX "embedded:"

typedef struct rv__config_entry_s {
    char *name;
    char *value;
    bool is_default;
} rv__config_entry_t;

struct rv_config_list_s {
    size_t cnt;
    rv__config_entry_t *v;
};

struct rv_topic_description_s {
    char *name;
    char id[23];
    int32_t partition_cnt;
    int16_t replication_factor;
    int32_t *leaders;
    int64_t *log_start_offsets;
    int64_t *end_offsets;
    rv_config_list_t *configs;
};

/* One backend: every operation of the public API. Arguments were checked
 * by the public functions. */
typedef struct rv__admin_backend_s {
    const char *name;
    rv_err_t (*create_topic)(rv_admin_t *a, const char *topic, int32_t partitions, int16_t rf,
                             const char *const *names, const char *const *values, size_t cnt,
                             char *errstr, size_t errstr_size);
    rv_err_t (*delete_topic)(rv_admin_t *a, const char *topic, char *errstr, size_t errstr_size);
    rv_err_t (*list_topics)(rv_admin_t *a, bool include_internal, char ***names, size_t *cnt,
                            char *errstr, size_t errstr_size);
    rv_err_t (*describe_topic)(rv_admin_t *a, const char *topic, rv_topic_description_t **out,
                               char *errstr, size_t errstr_size);
    rv_err_t (*create_partitions)(rv_admin_t *a, const char *topic, int32_t total, char *errstr,
                                  size_t errstr_size);
    rv_err_t (*describe_configs)(rv_admin_t *a, const char *topic, rv_config_list_t **out,
                                 char *errstr, size_t errstr_size);
    rv_err_t (*alter_configs)(rv_admin_t *a, const char *topic, const char *const *set_names,
                              const char *const *set_values, size_t set_cnt,
                              const char *const *del_names, size_t del_cnt, char *errstr,
                              size_t errstr_size);
    rv_err_t (*delete_records)(rv_admin_t *a, const char *topic, int32_t partition, int64_t offset,
                               int64_t *low_watermark, char *errstr, size_t errstr_size);
    void (*destroy)(rv_admin_t *a);
    /* Consumer groups. */
    rv_err_t (*list_groups)(rv_admin_t *a, char ***groups, char ***states, size_t *cnt,
                            char *errstr, size_t errstr_size);
    rv_err_t (*describe_group)(rv_admin_t *a, const char *group, rv_group_description_t **out,
                               char *errstr, size_t errstr_size);
    rv_err_t (*list_group_offsets)(rv_admin_t *a, const char *group,
                                   rv_topic_partition_list_t **out, char *errstr,
                                   size_t errstr_size);
    rv_err_t (*alter_group_offsets)(rv_admin_t *a, const char *group,
                                    rv_topic_partition_list_t *offsets, char *errstr,
                                    size_t errstr_size);
    rv_err_t (*delete_group)(rv_admin_t *a, const char *group, char *errstr, size_t errstr_size);
} rv__admin_backend_t;

struct rv_admin_s {
    const rv__admin_backend_t *be;
    rv_conf_t *conf;
    rv_broker_t *broker; /* embedded backend: a reference on the shared broker */
    rv__kadmin_t *kafka; /* kafka backend */
};

void rv_strv_free(char **v, size_t n) {
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- config lists ---- */

void rv_config_list_destroy(rv_config_list_t *l) {
    if (!l)
        return;
    for (size_t i = 0; i < l->cnt; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    free(l->v);
    free(l);
}

size_t rv_config_list_count(const rv_config_list_t *l) {
    return l ? l->cnt : 0;
}

const char *rv_config_list_name(const rv_config_list_t *l, size_t i) {
    return l && i < l->cnt ? l->v[i].name : NULL;
}

const char *rv_config_list_value(const rv_config_list_t *l, size_t i) {
    return l && i < l->cnt ? l->v[i].value : NULL;
}

bool rv_config_list_is_default(const rv_config_list_t *l, size_t i) {
    return l && i < l->cnt ? l->v[i].is_default : false;
}

const char *rv_config_list_get(const rv_config_list_t *l, const char *name) {
    if (!l || !name)
        return NULL;
    for (size_t i = 0; i < l->cnt; i++)
        if (!strcmp(l->v[i].name, name))
            return l->v[i].value;
    return NULL;
}

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const rv__config_entry_t *)a)->name, ((const rv__config_entry_t *)b)->name);
}

/* Every topic config with the topic's explicit values over the defaults,
 * sorted by name. */
static rv_config_list_t *config_list_build(char **names, char **values, size_t cnt) {
    size_t rows = 0;
    for (const rv__prop_t *p = rv__topic_config_props; p->name; p++)
        rows++;
    rv_config_list_t *l = calloc(1, sizeof *l);
    if (!l || !(l->v = calloc(rows + cnt + 1, sizeof *l->v))) {
        free(l);
        return NULL;
    }
    for (const rv__prop_t *p = rv__topic_config_props; p->name; p++) {
        const char *val = p->dflt;
        bool dflt = true;
        for (size_t i = 0; i < cnt; i++) {
            if (!strcmp(names[i], p->name)) {
                val = values[i];
                dflt = false;
            }
        }
        rv__config_entry_t *e = &l->v[l->cnt];
        e->name = strdup(p->name);
        e->value = val ? strdup(val) : NULL;
        e->is_default = dflt;
        l->cnt++;
        if (!e->name || (val && !e->value)) {
            rv_config_list_destroy(l);
            return NULL;
        }
    }
    /* Names persisted by another version that this table does not know are
     * still shown: they are set on the topic. */
    for (size_t i = 0; i < cnt; i++) {
        if (rv__prop_find(rv__topic_config_props, names[i]))
            continue;
        rv__config_entry_t *e = &l->v[l->cnt];
        e->name = strdup(names[i]);
        e->value = strdup(values[i]);
        e->is_default = false;
        l->cnt++;
        if (!e->name || !e->value) {
            rv_config_list_destroy(l);
            return NULL;
        }
    }
    qsort(l->v, l->cnt, sizeof *l->v, entry_cmp);
    return l;
}

/* Builders for the kafka backend (client/kafka_admin.h). */

rv_config_list_t *rv__config_list_new(void) {
    return calloc(1, sizeof(rv_config_list_t));
}

rv_err_t rv__config_list_add(rv_config_list_t *l, const char *name, const char *value,
                             bool is_default) {
    /* Grow by doubling: cnt is a power of two whenever the array is full. */
    if (!(l->cnt & (l->cnt - 1))) {
        rv__config_entry_t *v = realloc(l->v, (l->cnt ? l->cnt * 2 : 1) * sizeof *v);
        if (!v)
            return RV_ERR__NOMEM;
        l->v = v;
    }
    rv__config_entry_t *e = &l->v[l->cnt];
    e->name = strdup(name);
    e->value = value ? strdup(value) : NULL;
    e->is_default = is_default;
    if (!e->name || (value && !e->value)) {
        free(e->name);
        free(e->value);
        return RV_ERR__NOMEM;
    }
    l->cnt++;
    return RV_ERR_NO_ERROR;
}

void rv__config_list_sort(rv_config_list_t *l) {
    if (l->cnt)
        qsort(l->v, l->cnt, sizeof *l->v, entry_cmp);
}

/* ---- topic descriptions ---- */

void rv_topic_description_destroy(rv_topic_description_t *d) {
    if (!d)
        return;
    free(d->name);
    free(d->leaders);
    free(d->log_start_offsets);
    free(d->end_offsets);
    rv_config_list_destroy(d->configs);
    free(d);
}

const char *rv_topic_description_name(const rv_topic_description_t *d) {
    return d->name;
}
const char *rv_topic_description_id(const rv_topic_description_t *d) {
    return d->id;
}
int32_t rv_topic_description_partition_count(const rv_topic_description_t *d) {
    return d->partition_cnt;
}
int16_t rv_topic_description_replication_factor(const rv_topic_description_t *d) {
    return d->replication_factor;
}
int32_t rv_topic_description_leader(const rv_topic_description_t *d, int32_t i) {
    return i >= 0 && i < d->partition_cnt ? d->leaders[i] : -1;
}
int64_t rv_topic_description_log_start_offset(const rv_topic_description_t *d, int32_t i) {
    return i >= 0 && i < d->partition_cnt ? d->log_start_offsets[i] : -1;
}
int64_t rv_topic_description_end_offset(const rv_topic_description_t *d, int32_t i) {
    return i >= 0 && i < d->partition_cnt ? d->end_offsets[i] : -1;
}
const rv_config_list_t *rv_topic_description_configs(const rv_topic_description_t *d) {
    return d->configs;
}

rv_topic_description_t *rv__topic_description_new(const char *name, const char *id,
                                                  int32_t partition_cnt, int16_t rf) {
    size_t n = partition_cnt > 0 ? (size_t)partition_cnt : 1;
    rv_topic_description_t *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name)) || !(d->leaders = malloc(n * sizeof *d->leaders)) ||
        !(d->log_start_offsets = malloc(n * sizeof *d->log_start_offsets)) ||
        !(d->end_offsets = malloc(n * sizeof *d->end_offsets))) {
        rv_topic_description_destroy(d);
        return NULL;
    }
    snprintf(d->id, sizeof d->id, "%s", id);
    d->partition_cnt = partition_cnt > 0 ? partition_cnt : 0;
    d->replication_factor = rf;
    for (size_t i = 0; i < n; i++) {
        d->leaders[i] = -1;
        d->log_start_offsets[i] = d->end_offsets[i] = -1;
    }
    return d;
}

void rv__topic_description_set_partition(rv_topic_description_t *d, int32_t i, int32_t leader,
                                         int64_t log_start_offset, int64_t end_offset) {
    if (i < 0 || i >= d->partition_cnt)
        return;
    d->leaders[i] = leader;
    d->log_start_offsets[i] = log_start_offset;
    d->end_offsets[i] = end_offset;
}

void rv__topic_description_set_configs(rv_topic_description_t *d, rv_config_list_t *configs) {
    rv_config_list_destroy(d->configs);
    d->configs = configs;
}

/* ---- the embedded backend ---- */

static rv__topics_t *emb_topics(rv_admin_t *a) {
    return rv__broker_topics(a->broker);
}

static rv_err_t emb_create_topic(rv_admin_t *a, const char *topic, int32_t partitions, int16_t rf,
                                 const char *const *names, const char *const *values, size_t cnt,
                                 char *errstr, size_t errstr_size) {
    return rv__topics_create(emb_topics(a), topic, partitions, rf, names, values, cnt, errstr,
                             errstr_size);
}

static rv_err_t emb_delete_topic(rv_admin_t *a, const char *topic, char *errstr,
                                 size_t errstr_size) {
    return rv__topics_delete(emb_topics(a), topic, errstr, errstr_size);
}

static rv_err_t emb_list_topics(rv_admin_t *a, bool include_internal, char ***names, size_t *cnt,
                                char *errstr, size_t errstr_size) {
    rv_err_t err = rv__topics_list(emb_topics(a), include_internal, names, cnt);
    if (err)
        rv__errstr_set(errstr, errstr_size, "Out of memory");
    return err;
}

static rv_err_t emb_describe_topic(rv_admin_t *a, const char *topic, rv_topic_description_t **out,
                                   char *errstr, size_t errstr_size) {
    rv__topic_info_t info;
    rv_err_t err = rv__topics_describe(emb_topics(a), topic, &info, errstr, errstr_size);
    if (err)
        return err;
    rv_topic_description_t *d = calloc(1, sizeof *d);
    size_t n = (size_t)info.partition_cnt;
    if (!d || !(d->leaders = calloc(n, sizeof *d->leaders)) ||
        !(d->configs = config_list_build(info.config_names, info.config_values, info.config_cnt))) {
        rv_topic_description_destroy(d);
        rv__topic_info_clear(&info);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    /* Ownership of the name and offset arrays moves to the description. */
    d->name = info.name;
    d->log_start_offsets = info.log_start_offsets;
    d->end_offsets = info.end_offsets;
    info.name = NULL;
    info.log_start_offsets = info.end_offsets = NULL;
    memcpy(d->id, info.id, sizeof d->id);
    d->partition_cnt = info.partition_cnt;
    d->replication_factor = info.replication_factor;
    for (size_t i = 0; i < n; i++)
        d->leaders[i] = EMBEDDED_BROKER_ID;
    rv__topic_info_clear(&info);
    *out = d;
    return RV_ERR_NO_ERROR;
}

static rv_err_t emb_create_partitions(rv_admin_t *a, const char *topic, int32_t total, char *errstr,
                                      size_t errstr_size) {
    return rv__topics_create_partitions(emb_topics(a), topic, total, errstr, errstr_size);
}

static rv_err_t emb_describe_configs(rv_admin_t *a, const char *topic, rv_config_list_t **out,
                                     char *errstr, size_t errstr_size) {
    rv__topic_info_t info;
    rv_err_t err = rv__topics_describe(emb_topics(a), topic, &info, errstr, errstr_size);
    if (err)
        return err;
    *out = config_list_build(info.config_names, info.config_values, info.config_cnt);
    rv__topic_info_clear(&info);
    if (!*out) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    return RV_ERR_NO_ERROR;
}

static rv_err_t emb_alter_configs(rv_admin_t *a, const char *topic, const char *const *set_names,
                                  const char *const *set_values, size_t set_cnt,
                                  const char *const *del_names, size_t del_cnt, char *errstr,
                                  size_t errstr_size) {
    return rv__topics_alter_configs(emb_topics(a), topic, set_names, set_values, set_cnt, del_names,
                                    del_cnt, errstr, errstr_size);
}

static rv_err_t emb_delete_records(rv_admin_t *a, const char *topic, int32_t partition,
                                   int64_t offset, int64_t *low_watermark, char *errstr,
                                   size_t errstr_size) {
    return rv__topics_delete_records(emb_topics(a), topic, partition, offset, low_watermark, errstr,
                                     errstr_size);
}

static void emb_destroy(rv_admin_t *a) {
    rv_broker_close(a->broker);
    a->broker = NULL;
}

/* ---- consumer groups ---- */

typedef struct rv__group_member_s {
    char *member_id;
    char *client_id;
    char *host;
    char *instance_id; /* NULL when dynamic */
    rv_topic_partition_list_t *assignment;
} rv__group_member_t;

struct rv_group_description_s {
    char *group_id;
    char *state;
    char *assignor;
    int32_t coordinator;
    size_t member_cnt;
    rv__group_member_t *members;
};

void rv_group_description_destroy(rv_group_description_t *d) {
    if (!d)
        return;
    for (size_t i = 0; i < d->member_cnt; i++) {
        rv__group_member_t *m = &d->members[i];
        free(m->member_id);
        free(m->client_id);
        free(m->host);
        free(m->instance_id);
        rv_topic_partition_list_destroy(m->assignment);
    }
    free(d->members);
    free(d->group_id);
    free(d->state);
    free(d->assignor);
    free(d);
}

const char *rv_group_description_group_id(const rv_group_description_t *d) {
    return d->group_id;
}
const char *rv_group_description_state(const rv_group_description_t *d) {
    return d->state;
}
const char *rv_group_description_partition_assignor(const rv_group_description_t *d) {
    return d->assignor;
}
int32_t rv_group_description_coordinator(const rv_group_description_t *d) {
    return d->coordinator;
}
size_t rv_group_description_member_count(const rv_group_description_t *d) {
    return d->member_cnt;
}
const char *rv_group_description_member_id(const rv_group_description_t *d, size_t i) {
    return i < d->member_cnt ? d->members[i].member_id : NULL;
}
const char *rv_group_description_member_client_id(const rv_group_description_t *d, size_t i) {
    return i < d->member_cnt ? d->members[i].client_id : NULL;
}
const char *rv_group_description_member_host(const rv_group_description_t *d, size_t i) {
    return i < d->member_cnt ? d->members[i].host : NULL;
}
const char *rv_group_description_member_instance_id(const rv_group_description_t *d, size_t i) {
    return i < d->member_cnt ? d->members[i].instance_id : NULL;
}
const rv_topic_partition_list_t *
rv_group_description_member_assignment(const rv_group_description_t *d, size_t i) {
    return i < d->member_cnt ? d->members[i].assignment : NULL;
}

rv_group_description_t *rv__group_description_new(const char *group_id, const char *state,
                                                  const char *assignor, int32_t coordinator,
                                                  size_t member_cap) {
    rv_group_description_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->coordinator = coordinator;
    d->group_id = strdup(group_id ? group_id : "");
    d->state = strdup(state ? state : "");
    d->assignor = strdup(assignor ? assignor : "");
    d->members = calloc(member_cap ? member_cap : 1, sizeof *d->members);
    if (!d->group_id || !d->state || !d->assignor || !d->members) {
        rv_group_description_destroy(d);
        return NULL;
    }
    return d;
}

rv_err_t rv__group_description_add_member(rv_group_description_t *d, const char *member_id,
                                          const char *client_id, const char *host,
                                          const char *instance_id,
                                          rv_topic_partition_list_t *assignment) {
    /* The caller sized the array with member_cap; the slot is zeroed. */
    rv__group_member_t *m = &d->members[d->member_cnt++];
    m->member_id = strdup(member_id ? member_id : "");
    m->client_id = strdup(client_id ? client_id : "");
    m->host = strdup(host ? host : "");
    m->instance_id = instance_id ? strdup(instance_id) : NULL;
    m->assignment = assignment;
    if (!m->member_id || !m->client_id || !m->host || !m->assignment ||
        (instance_id && !m->instance_id))
        return RV_ERR__NOMEM;
    return RV_ERR_NO_ERROR;
}

static rv__group_coordinator_t *emb_groups(rv_admin_t *a) {
    return rv__broker_group_coordinator(a->broker);
}

static rv_err_t nomem(char *errstr, size_t errstr_size) {
    rv__errstr_set(errstr, errstr_size, "Out of memory");
    return RV_ERR__NOMEM;
}

static rv_err_t emb_list_groups(rv_admin_t *a, char ***groups, char ***states, size_t *cnt,
                                char *errstr, size_t errstr_size) {
    rv__group_listing_t *arr = NULL;
    size_t n = 0;
    rv_err_t err = rv__group_list(emb_groups(a), &arr, &n);
    if (err) {
        rv__errstr_set(errstr, errstr_size, "%s", rv_err_str(err));
        return err;
    }
    char **g = calloc(n ? n : 1, sizeof *g);
    char **s = states ? calloc(n ? n : 1, sizeof *s) : NULL;
    size_t k = 0;
    bool oom = !g || (states && !s);
    /* Only consumer groups, as Kafka's listConsumerGroups: protocol type
     * "consumer", or none for a group that only has committed offsets. */
    for (size_t i = 0; i < n && !oom; i++) {
        if (arr[i].protocol_type[0] && strcmp(arr[i].protocol_type, "consumer") != 0)
            continue;
        g[k] = strdup(arr[i].group_id);
        if (s)
            s[k] = strdup(arr[i].state);
        oom = !g[k] || (s && !s[k]);
        k++;
    }
    rv__group_listings_free(arr, n);
    if (oom) {
        rv_strv_free(g, k);
        rv_strv_free(s, k);
        return nomem(errstr, errstr_size);
    }
    *groups = g;
    if (states)
        *states = s;
    *cnt = k;
    return RV_ERR_NO_ERROR;
}

/* The partitions of a ConsumerProtocolAssignment as a sorted list; an
 * assignment that does not parse (another protocol type) gives an empty
 * list, as Kafka's admin client shows such members without partitions. */
static rv_topic_partition_list_t *assignment_list(const uint8_t *p, size_t len) {
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(4);
    if (!l || !len)
        return l;
    rv__assignment_t asg;
    memset(&asg, 0, sizeof asg);
    if (rv__assignment_decode(&asg, p, len) == RV_ERR_NO_ERROR) {
        for (size_t t = 0; t < asg.cnt; t++)
            for (size_t i = 0; i < asg.parts[t].cnt; i++)
                if (!rv_topic_partition_list_add(l, asg.parts[t].topic,
                                                 asg.parts[t].partitions[i])) {
                    rv__assignment_clear(&asg);
                    rv_topic_partition_list_destroy(l);
                    return NULL;
                }
        rv_topic_partition_list_sort(l);
    }
    rv__assignment_clear(&asg);
    return l;
}

static char *dup_or_empty(const char *s) {
    return strdup(s ? s : "");
}

static rv_err_t emb_describe_group(rv_admin_t *a, const char *group, rv_group_description_t **out,
                                   char *errstr, size_t errstr_size) {
    rv__group_description_t gd;
    memset(&gd, 0, sizeof gd);
    rv_err_t err = rv__group_describe(emb_groups(a), group, &gd);
    if (err) {
        rv__group_description_clear(&gd);
        if (err == RV_ERR_GROUP_ID_NOT_FOUND)
            rv__errstr_set(errstr, errstr_size, "Group %s not found.", group);
        else
            rv__errstr_set(errstr, errstr_size, "%s", rv_err_str(err));
        return err;
    }
    rv_group_description_t *d = calloc(1, sizeof *d);
    bool oom = !d;
    if (d) {
        d->coordinator = EMBEDDED_BROKER_ID;
        d->group_id = dup_or_empty(gd.group_id);
        d->state = dup_or_empty(gd.state);
        d->assignor = dup_or_empty(gd.protocol);
        d->members = calloc(gd.member_cnt ? gd.member_cnt : 1, sizeof *d->members);
        oom = !d->group_id || !d->state || !d->assignor || !d->members;
    }
    for (size_t i = 0; !oom && i < gd.member_cnt; i++) {
        const rv__group_member_desc_t *src = &gd.members[i];
        rv__group_member_t *m = &d->members[i];
        d->member_cnt++;
        m->member_id = dup_or_empty(src->member_id);
        m->client_id = dup_or_empty(src->client_id);
        m->host = dup_or_empty(src->client_host);
        m->instance_id = src->group_instance_id ? strdup(src->group_instance_id) : NULL;
        m->assignment = assignment_list(src->assignment, src->assignment_len);
        oom = !m->member_id || !m->client_id || !m->host || !m->assignment ||
              (src->group_instance_id && !m->instance_id);
    }
    rv__group_description_clear(&gd);
    if (oom) {
        rv_group_description_destroy(d);
        return nomem(errstr, errstr_size);
    }
    *out = d;
    return RV_ERR_NO_ERROR;
}

static rv_err_t emb_list_group_offsets(rv_admin_t *a, const char *group,
                                       rv_topic_partition_list_t **out, char *errstr,
                                       size_t errstr_size) {
    rv__group_committed_t *arr = NULL;
    size_t n = 0;
    rv_err_t err = rv__group_fetch_offsets(emb_groups(a), group, NULL, 0, &arr, &n);
    if (err) {
        rv__errstr_set(errstr, errstr_size, "%s", rv_err_str(err));
        return err;
    }
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(n);
    for (size_t i = 0; l && i < n; i++) {
        if (arr[i].offset < 0)
            continue;
        rv_topic_partition_t *tp = rv_topic_partition_list_add(l, arr[i].topic, arr[i].partition);
        if (!tp || (arr[i].metadata && arr[i].metadata[0] &&
                    rv_topic_partition_set_metadata(tp, arr[i].metadata))) {
            rv_topic_partition_list_destroy(l);
            l = NULL;
            break;
        }
        rv_topic_partition_set_offset(tp, arr[i].offset);
    }
    rv__group_committed_free(arr, n);
    if (!l)
        return nomem(errstr, errstr_size);
    rv_topic_partition_list_sort(l);
    *out = l;
    return RV_ERR_NO_ERROR;
}

static rv_err_t emb_alter_group_offsets(rv_admin_t *a, const char *group,
                                        rv_topic_partition_list_t *offsets, char *errstr,
                                        size_t errstr_size) {
    size_t n = rv_topic_partition_list_count(offsets);
    rv__group_offset_t *arr = calloc(n ? n : 1, sizeof *arr);
    if (!arr)
        return nomem(errstr, errstr_size);
    for (size_t i = 0; i < n; i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(offsets, i);
        arr[i].topic = rv_topic_partition_topic(tp);
        arr[i].partition = rv_topic_partition_partition(tp);
        arr[i].offset = rv_topic_partition_offset(tp);
        arr[i].leader_epoch = -1;
        arr[i].metadata = rv_topic_partition_metadata(tp);
    }
    rv_err_t err =
        rv__group_commit_offsets(emb_groups(a), group, -1, NULL, NULL, arr, n, errstr, errstr_size);
    for (size_t i = 0; i < n; i++)
        rv_topic_partition_set_err(rv_topic_partition_list_get(offsets, i), err ? err : arr[i].err);
    if (!err)
        for (size_t i = 0; i < n && !err; i++)
            err = arr[i].err;
    if (err && errstr && errstr_size && !errstr[0])
        rv__errstr_set(errstr, errstr_size, "%s", rv_err_str(err));
    free(arr);
    return err;
}

static rv_err_t emb_delete_group(rv_admin_t *a, const char *group, char *errstr,
                                 size_t errstr_size) {
    rv_err_t err = rv__group_delete(emb_groups(a), group, errstr, errstr_size);
    if (err && errstr && errstr_size && !errstr[0])
        rv__errstr_set(errstr, errstr_size, "%s", rv_err_str(err));
    return err;
}

static const rv__admin_backend_t embedded_backend = {
    "embedded",
    emb_create_topic,
    emb_delete_topic,
    emb_list_topics,
    emb_describe_topic,
    emb_create_partitions,
    emb_describe_configs,
    emb_alter_configs,
    emb_delete_records,
    emb_destroy,
    emb_list_groups,
    emb_describe_group,
    emb_list_group_offsets,
    emb_alter_group_offsets,
    emb_delete_group,
};

/* ---- the kafka backend: client/kafka_admin.c through its header ---- */

static rv_err_t kaf_create_topic(rv_admin_t *a, const char *topic, int32_t partitions, int16_t rf,
                                 const char *const *names, const char *const *values, size_t cnt,
                                 char *errstr, size_t errstr_size) {
    return rv__kadmin_create_topic(a->kafka, topic, partitions, rf, names, values, cnt, errstr,
                                   errstr_size);
}

static rv_err_t kaf_delete_topic(rv_admin_t *a, const char *topic, char *errstr,
                                 size_t errstr_size) {
    return rv__kadmin_delete_topic(a->kafka, topic, errstr, errstr_size);
}

static rv_err_t kaf_list_topics(rv_admin_t *a, bool include_internal, char ***names, size_t *cnt,
                                char *errstr, size_t errstr_size) {
    return rv__kadmin_list_topics(a->kafka, include_internal, names, cnt, errstr, errstr_size);
}

static rv_err_t kaf_describe_topic(rv_admin_t *a, const char *topic, rv_topic_description_t **out,
                                   char *errstr, size_t errstr_size) {
    return rv__kadmin_describe_topic(a->kafka, topic, out, errstr, errstr_size);
}

static rv_err_t kaf_create_partitions(rv_admin_t *a, const char *topic, int32_t total, char *errstr,
                                      size_t errstr_size) {
    return rv__kadmin_create_partitions(a->kafka, topic, total, errstr, errstr_size);
}

static rv_err_t kaf_describe_configs(rv_admin_t *a, const char *topic, rv_config_list_t **out,
                                     char *errstr, size_t errstr_size) {
    return rv__kadmin_describe_configs(a->kafka, topic, out, errstr, errstr_size);
}

static rv_err_t kaf_alter_configs(rv_admin_t *a, const char *topic, const char *const *set_names,
                                  const char *const *set_values, size_t set_cnt,
                                  const char *const *del_names, size_t del_cnt, char *errstr,
                                  size_t errstr_size) {
    return rv__kadmin_alter_configs(a->kafka, topic, set_names, set_values, set_cnt, del_names,
                                    del_cnt, errstr, errstr_size);
}

static rv_err_t kaf_delete_records(rv_admin_t *a, const char *topic, int32_t partition,
                                   int64_t offset, int64_t *low_watermark, char *errstr,
                                   size_t errstr_size) {
    return rv__kadmin_delete_records(a->kafka, topic, partition, offset, low_watermark, errstr,
                                     errstr_size);
}

static void kaf_destroy(rv_admin_t *a) {
    rv__kadmin_destroy(a->kafka);
    a->kafka = NULL;
}

static rv_err_t kaf_list_groups(rv_admin_t *a, char ***groups, char ***states, size_t *cnt,
                                char *errstr, size_t errstr_size) {
    return rv__kadmin_list_groups(a->kafka, groups, states, cnt, errstr, errstr_size);
}

static rv_err_t kaf_describe_group(rv_admin_t *a, const char *group, rv_group_description_t **out,
                                   char *errstr, size_t errstr_size) {
    return rv__kadmin_describe_group(a->kafka, group, out, errstr, errstr_size);
}

static rv_err_t kaf_list_group_offsets(rv_admin_t *a, const char *group,
                                       rv_topic_partition_list_t **out, char *errstr,
                                       size_t errstr_size) {
    return rv__kadmin_list_group_offsets(a->kafka, group, out, errstr, errstr_size);
}

static rv_err_t kaf_alter_group_offsets(rv_admin_t *a, const char *group,
                                        rv_topic_partition_list_t *offsets, char *errstr,
                                        size_t errstr_size) {
    return rv__kadmin_alter_group_offsets(a->kafka, group, offsets, errstr, errstr_size);
}

static rv_err_t kaf_delete_group(rv_admin_t *a, const char *group, char *errstr,
                                 size_t errstr_size) {
    return rv__kadmin_delete_group(a->kafka, group, errstr, errstr_size);
}

static const rv__admin_backend_t kafka_backend = {
    "kafka",
    kaf_create_topic,
    kaf_delete_topic,
    kaf_list_topics,
    kaf_describe_topic,
    kaf_create_partitions,
    kaf_describe_configs,
    kaf_alter_configs,
    kaf_delete_records,
    kaf_destroy,
    kaf_list_groups,
    kaf_describe_group,
    kaf_list_group_offsets,
    kaf_alter_group_offsets,
    kaf_delete_group,
};

/* ---- the public API ---- */

rv_admin_t *rv_admin_new(rv_conf_t *conf, char *errstr, size_t errstr_size) {
    const char *bs = conf ? rv_conf_get(conf, "bootstrap.servers") : NULL;
    if (!bs || !*bs) {
        rv__errstr_set(
            errstr, errstr_size,
            "bootstrap.servers is not set: use embedded:DIR for the embedded broker or a "
            "host:port list for a Kafka cluster");
        return NULL;
    }
    if (rv__kafka_is_remote(bs)) {
        rv_admin_t *a = calloc(1, sizeof *a);
        if (!a) {
            rv__errstr_set(errstr, errstr_size, "Out of memory");
            return NULL;
        }
        if (!(a->kafka = rv__kadmin_new(conf, errstr, errstr_size))) {
            free(a);
            return NULL;
        }
        a->be = &kafka_backend;
        a->conf = conf;
        return a;
    }
    const char *dir = bs + strlen(EMBEDDED_PREFIX);
    if (!*dir) {
        rv__errstr_set(errstr, errstr_size, "bootstrap.servers=%s: embedded: needs a data folder",
                       bs);
        return NULL;
    }
    rv_admin_t *a = calloc(1, sizeof *a);
    if (!a) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    if (rv_broker_open(&a->broker, dir, errstr, errstr_size)) {
        free(a);
        return NULL;
    }
    a->be = &embedded_backend;
    a->conf = conf;
    return a;
}

void rv_admin_destroy(rv_admin_t *admin) {
    if (!admin)
        return;
    admin->be->destroy(admin);
    rv_conf_destroy(admin->conf);
    free(admin);
}

static bool bad_topic_arg(const char *topic, char *errstr, size_t errstr_size) {
    if (topic)
        return false;
    rv__errstr_set(errstr, errstr_size, "Topic name is illegal, it can't be empty");
    return true;
}

rv_err_t rv_admin_create_topic(rv_admin_t *admin, const char *topic, int32_t partitions,
                               int16_t replication_factor, const char *const *names,
                               const char *const *values, size_t config_cnt, char *errstr,
                               size_t errstr_size) {
    if (bad_topic_arg(topic, errstr, errstr_size))
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    if (config_cnt && (!names || !values)) {
        rv__errstr_set(errstr, errstr_size, "Config names and values are required");
        return RV_ERR_INVALID_CONFIG;
    }
    return admin->be->create_topic(admin, topic, partitions, replication_factor, names, values,
                                   config_cnt, errstr, errstr_size);
}

rv_err_t rv_admin_delete_topic(rv_admin_t *admin, const char *topic, char *errstr,
                               size_t errstr_size) {
    if (bad_topic_arg(topic, errstr, errstr_size))
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    return admin->be->delete_topic(admin, topic, errstr, errstr_size);
}

rv_err_t rv_admin_list_topics(rv_admin_t *admin, bool include_internal, char ***names, size_t *cnt,
                              char *errstr, size_t errstr_size) {
    return admin->be->list_topics(admin, include_internal, names, cnt, errstr, errstr_size);
}

rv_err_t rv_admin_describe_topic(rv_admin_t *admin, const char *topic, rv_topic_description_t **out,
                                 char *errstr, size_t errstr_size) {
    *out = NULL;
    if (bad_topic_arg(topic, errstr, errstr_size))
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    return admin->be->describe_topic(admin, topic, out, errstr, errstr_size);
}

rv_err_t rv_admin_create_partitions(rv_admin_t *admin, const char *topic, int32_t total,
                                    char *errstr, size_t errstr_size) {
    if (bad_topic_arg(topic, errstr, errstr_size))
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    return admin->be->create_partitions(admin, topic, total, errstr, errstr_size);
}

rv_err_t rv_admin_describe_configs(rv_admin_t *admin, const char *topic, rv_config_list_t **out,
                                   char *errstr, size_t errstr_size) {
    *out = NULL;
    if (bad_topic_arg(topic, errstr, errstr_size))
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    return admin->be->describe_configs(admin, topic, out, errstr, errstr_size);
}

rv_err_t rv_admin_alter_configs(rv_admin_t *admin, const char *topic, const char *const *set_names,
                                const char *const *set_values, size_t set_cnt,
                                const char *const *del_names, size_t del_cnt, char *errstr,
                                size_t errstr_size) {
    if (bad_topic_arg(topic, errstr, errstr_size))
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    if ((set_cnt && (!set_names || !set_values)) || (del_cnt && !del_names)) {
        rv__errstr_set(errstr, errstr_size, "Config names and values are required");
        return RV_ERR_INVALID_CONFIG;
    }
    return admin->be->alter_configs(admin, topic, set_names, set_values, set_cnt, del_names,
                                    del_cnt, errstr, errstr_size);
}

rv_err_t rv_admin_delete_records(rv_admin_t *admin, const char *topic, int32_t partition,
                                 int64_t offset, int64_t *low_watermark, char *errstr,
                                 size_t errstr_size) {
    if (bad_topic_arg(topic, errstr, errstr_size))
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    return admin->be->delete_records(admin, topic, partition, offset, low_watermark, errstr,
                                     errstr_size);
}

static bool bad_group_arg(const char *group, char *errstr, size_t errstr_size) {
    if (group && *group)
        return false;
    rv__errstr_set(errstr, errstr_size, "The group id is empty");
    return true;
}

rv_err_t rv_admin_list_groups(rv_admin_t *admin, char ***groups, char ***states, size_t *cnt,
                              char *errstr, size_t errstr_size) {
    *groups = NULL;
    if (states)
        *states = NULL;
    *cnt = 0;
    return admin->be->list_groups(admin, groups, states, cnt, errstr, errstr_size);
}

rv_err_t rv_admin_describe_group(rv_admin_t *admin, const char *group, rv_group_description_t **out,
                                 char *errstr, size_t errstr_size) {
    *out = NULL;
    if (bad_group_arg(group, errstr, errstr_size))
        return RV_ERR_INVALID_GROUP_ID;
    return admin->be->describe_group(admin, group, out, errstr, errstr_size);
}

rv_err_t rv_admin_list_group_offsets(rv_admin_t *admin, const char *group,
                                     rv_topic_partition_list_t **out, char *errstr,
                                     size_t errstr_size) {
    *out = NULL;
    if (bad_group_arg(group, errstr, errstr_size))
        return RV_ERR_INVALID_GROUP_ID;
    return admin->be->list_group_offsets(admin, group, out, errstr, errstr_size);
}

rv_err_t rv_admin_alter_group_offsets(rv_admin_t *admin, const char *group,
                                      rv_topic_partition_list_t *offsets, char *errstr,
                                      size_t errstr_size) {
    if (bad_group_arg(group, errstr, errstr_size))
        return RV_ERR_INVALID_GROUP_ID;
    if (!offsets) {
        rv__errstr_set(errstr, errstr_size, "No offsets to alter");
        return RV_ERR__INVALID_ARG;
    }
    if (errstr && errstr_size)
        errstr[0] = '\0';
    return admin->be->alter_group_offsets(admin, group, offsets, errstr, errstr_size);
}

rv_err_t rv_admin_delete_group(rv_admin_t *admin, const char *group, char *errstr,
                               size_t errstr_size) {
    if (bad_group_arg(group, errstr, errstr_size))
        return RV_ERR_INVALID_GROUP_ID;
    if (errstr && errstr_size)
        errstr[0] = '\0';
    return admin->be->delete_group(admin, group, errstr, errstr_size);
}
