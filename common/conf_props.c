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

const rv__prop_t rv__conf_props[] = {
    {"bootstrap.servers", RV__PROP_STRING, NULL, NORANGE, NULL,
     "Where the cluster is: \"embedded:DIR\" runs the broker inside the process with its data "
     "in folder DIR; a comma-separated host:port list talks the Kafka protocol to `rivulet "
     "broker` or any Kafka cluster."},
    {"client.id", RV__PROP_STRING, "rivulet", NORANGE, NULL,
     "An id string passed to the server with requests, to trace their source in logs and "
     "quotas."},
    {"request.timeout.ms", RV__PROP_INT, "30000", 0, NOMAX, NULL,
     "How long the client waits for the response of a request before it retries or fails it."},
    {NULL, RV__PROP_STRING, NULL, NORANGE, NULL, NULL},
};
