/* rivulet/rivulet.h: the whole public API. */
#ifndef RIVULET_H
#define RIVULET_H

#include "admin.h"
#include "broker.h"
#include "common.h"
#include "conf.h"
#include "consumer.h"
#include "dsl.h"
#include "error.h"
#include "log.h"
#include "processor.h"
#include "producer.h"
#include "record.h"
#include "serde.h"
#include "store.h"
#include "streams.h"
#include "test_driver.h"
#include "topology.h"

#define RV_VERSION_STR "0.1.0"

#endif
