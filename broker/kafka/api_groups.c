/* broker/kafka/api_groups.c: the handlers of FindCoordinator and the group and offset APIs
 * (broker/kafka/api.h). */
#include "broker/kafka/api.h"

const rv__kapi_def_t rv__kapi_group_defs[] = {
    {0, 0, 0, NULL, NULL},
};
