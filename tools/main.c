/* tools/main.c: the `rivulet` program's entry point. It dispatches
 * `rivulet <command> [options]` to the subcommands, which mirror Apache
 * Kafka's shell tools (topics = kafka-topics.sh, configs =
 * kafka-configs.sh, delete-records = kafka-delete-records.sh,
 * console-producer, console-consumer, consumer-groups, and the system-test
 * tools verifiable-producer and verifiable-consumer) and document
 * themselves with --help. docs/TOOLS.md is the user guide. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/tool.h"

typedef struct command_s {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"broker", rv__cmd_broker,
     "Run a broker that serves the Kafka protocol (kafka-server-start.sh)."},
    {"topics", rv__cmd_topics, "Create, delete, describe, or change a topic (kafka-topics.sh)."},
    {"configs", rv__cmd_configs, "Describe or change topic configs (kafka-configs.sh)."},
    {"delete-records", rv__cmd_delete_records,
     "Delete records of partitions below an offset (kafka-delete-records.sh)."},
    {"console-producer", rv__cmd_console_producer,
     "Read lines from standard input and send them as records (kafka-console-producer.sh)."},
    {"console-consumer", rv__cmd_console_consumer,
     "Read records and print them on standard output (kafka-console-consumer.sh)."},
    {"consumer-groups", rv__cmd_consumer_groups,
     "List, describe, delete consumer groups or reset their offsets (kafka-consumer-groups.sh)."},
    {"verifiable-producer", rv__cmd_verifiable_producer,
     "Send increasing integers and print JSON events (Kafka's VerifiableProducer)."},
    {"verifiable-consumer", rv__cmd_verifiable_consumer,
     "Consume in a group and print JSON events (Kafka's VerifiableConsumer)."},
    {"config-docs", rv__cmd_config_docs,
     "Print the configuration reference (docs/CONFIGURATION.md) as Markdown."},
    {NULL, NULL, NULL}};

static void usage(FILE *f) {
    fprintf(f, "Usage: rivulet <command> [options]\n\nCommands:\n");
    for (const command_t *c = commands; c->name; c++)
        fprintf(f, "  %-16s%s\n", c->name, c->summary);
    fprintf(f, "  %-16s%s\n", "help", "Print this help.");
    fprintf(f, "\nOptions:\n  %-16s%s\n", "--version", "Print the rivulet version.");
    fprintf(f, "\nRun `rivulet <command> --help` for a command's options.\n");
}

/* A tool started with standard input, output or error closed (from a
 * daemon or a cron job) would hand those descriptor numbers to the data
 * folder's files, and what it prints would be written into a segment.
 * Each closed one is opened on /dev/null first, read-only: reading it
 * gives end of input, and writing to it fails as writing to a closed
 * descriptor does, so lost output is still reported as an error. */
static void reserve_stdio(void) {
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            int got = open("/dev/null", O_RDONLY);
            if (got >= 0 && got != fd) {
                dup2(got, fd);
                close(got);
            }
        }
}

int main(int argc, char **argv) {
    reserve_stdio();
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("%s\n", RV_TOOL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2)
            for (const command_t *c = commands; c->name; c++)
                if (c->run && strcmp(argv[2], c->name) == 0) {
                    char help[] = "--help";
                    char *hv[] = {help, NULL};
                    return c->run(1, hv);
                }
        usage(stdout);
        return 0;
    }
    for (const command_t *c = commands; c->name; c++)
        if (c->run && strcmp(cmd, c->name) == 0) {
            int rc = c->run(argc - 2, argv + 2);
            if (fflush(stdout) != 0)
                rc = rc ? rc : 1;
            return rc;
        }
    fprintf(stderr, "Unknown command '%s'.\n\n", cmd);
    usage(stderr);
    return 1;
}
