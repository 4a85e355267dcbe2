/* broker/kafka/api_admin.c: the handlers of topics, configs and records admin APIs
 * (broker/kafka/api.h). */
#include "broker/kafka/api.h"

const rv__kapi_def_t rv__kapi_admin_defs[] = {
    {0, 0, 0, NULL, NULL},
};
