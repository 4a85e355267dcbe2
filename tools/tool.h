/* tools/tool.h: what the `rivulet` subcommands share: the entry points
 * main.c dispatches to, and opening an admin client the way Kafka's tools
 * do (--command-config properties, then --bootstrap-server on top). */
#ifndef RV_TOOLS_TOOL_H
#define RV_TOOLS_TOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "rivulet/rivulet.h"

/* What `--version` prints. */
#define RV_TOOL_VERSION RV_VERSION_STR

/* Subcommands: argv excludes the program and subcommand names. Each returns
 * the process exit status. */
int rv__cmd_broker(int argc, char **argv);
int rv__cmd_topics(int argc, char **argv);
int rv__cmd_configs(int argc, char **argv);
int rv__cmd_delete_records(int argc, char **argv);
int rv__cmd_config_docs(int argc, char **argv);
int rv__cmd_console_producer(int argc, char **argv);
int rv__cmd_verifiable_producer(int argc, char **argv);
int rv__cmd_console_consumer(int argc, char **argv);
int rv__cmd_consumer_groups(int argc, char **argv);
int rv__cmd_verifiable_consumer(int argc, char **argv);

/** Opens an admin client for `bootstrap` (may be NULL when command_config
 *  sets bootstrap.servers) after loading the properties file
 *  `command_config` (may be NULL). NULL with a message in errstr on
 *  failure. Caller owns the result; free with rv_admin_destroy(). */
rv_admin_t *rv__tool_admin_open(const char *bootstrap, const char *command_config, char *errstr,
                                size_t errstr_size);

/** The message of a failed admin call: errstr when the library wrote one,
 *  else the error code's description. Borrowed: errstr or a static string. */
const char *rv__tool_errmsg(rv_err_t err, const char *errstr);

/** Kafka's topic name check (Topic.validate): 1..249 characters of
 *  [a-zA-Z0-9._-], not "." or "..". On failure writes Kafka's message to
 *  errstr and returns -1. */
int rv__tool_topic_validate(const char *name, char *errstr, size_t errstr_size);

/** Kafka's Topic.hasCollisionChars: true when the name has a '.' or a '_'
 *  (the two collide in metric names, so Kafka's tool warns about either). */
int rv__tool_topic_has_collision_chars(const char *name);

/** Prints msg on stderr (after flushing stdout, so outputs interleave in
 *  order) and returns 1, the tools' exit status for an error. */
int rv__tool_fail(const char *msg);

/** Kafka's CommandLineUtils.parseKeyValueArgs for one "key=value": Java's
 *  split("=") drops trailing empty strings, so "a=" and "a" give an empty
 *  value and more than one '=' inside is refused. Writes key and value
 *  into the buffers; -1 when the argument does not parse. */
int rv__tool_split_kv(const char *arg, char *key, size_t ksz, char *val, size_t vsz);

/** Java's Boolean.parseBoolean on a trimmed value: "true" in any case. */
bool rv__tool_is_true(const char *v);

/** rv_conf_set() that always leaves a message in errstr on failure;
 *  returns 0 or -1. */
int rv__tool_conf_put(rv_conf_t *conf, const char *name, const char *value, char *errstr,
                      size_t errstr_size);

#endif
