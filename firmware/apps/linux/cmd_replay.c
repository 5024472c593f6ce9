/*
 * ward-agent replay --rules RULES.json [--board-defaults] TRACE.jsonl
 *
 * Feeds recorded readings through the real engine (the same ward_agent_feed() path the
 * samplers use) in virtual time and prints one JSON line per event. Output is held back
 * until the whole trace has been read: on any error nothing reaches stdout, one line on
 * stderr names the file and line, and the exit status is 1 (2 for usage errors).
 * Formats: docs/config.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/agent.h"
#include "ward/base/json_arena.h"
#include "ward/report.h"
#include "ward/trace.h"
#include "commands.h"

#define RULES_MAX_BYTES (4u * 1024u * 1024u)

/* Replay is a one-shot tool: the agent and its arena are static like on a board. */
static struct ward_agent s_agent;
static uint8_t s_arena_storage[4096];

struct outbuf {
    char *data;
    size_t len;
    size_t cap;
};

void cmd_replay_usage(FILE *f)
{
    fputs("usage: ward-agent replay --rules RULES.json [--board-defaults] TRACE.jsonl\n"
          "Feed a recorded trace through the health engine; print the events it raises.\n"
          "\n"
          "options:\n"
          "  --rules FILE           health rules, JSON (required)\n"
          "  --board-defaults       also apply this board's default rules (default: off)\n"
          "  TRACE.jsonl            the recorded trace; '-' reads stdin\n"
          "  -h, --help             this text\n",
          f);
}

static void usage(void)
{
    cmd_replay_usage(stderr);
}

static int append(struct outbuf *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;

        while (cap < o->len + n + 1) {
            cap *= 2;
        }
        char *p = realloc(o->data, cap);

        if (p == NULL) {
            return -ENOMEM;
        }
        o->data = p;
        o->cap = cap;
    }
    memcpy(o->data + o->len, s, n);
    o->len += n;
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    size_t n = 0;

    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            if (cap > RULES_MAX_BYTES) {
                errno = EFBIG;
                goto fail;
            }
            char *p = realloc(buf, cap);

            if (p == NULL) {
                goto fail;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);

        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        goto fail;
    }
    fclose(f);
    *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

static int load_rules(const char *path)
{
    struct ward_rules_error err;
    size_t len = 0;
    char *text = read_file(path, &len);
    int rc;

    if (text == NULL) {
        fprintf(stderr, "ward-agent: replay: cannot read rules %s: %s\n", path, strerror(errno));
        return -1;
    }
    rc = ward_agent_load_rules(&s_agent, text, len, &err, 0);
    free(text);
    if (rc < 0) {
        fprintf(stderr, "ward-agent: replay: %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

/* Move the events the last reading produced into the output, then free them. */
static int drain(struct ward_json_arena *arena, struct outbuf *out)
{
    char line[512];
    unsigned n = ward_evlog_pending(&s_agent.log);

    for (unsigned i = 0; i < n; i++) {
        int len = ward_report_replay_line(&s_agent, ward_evlog_at(&s_agent.log, i), arena, line,
                                          sizeof(line) - 1);

        if (len < 0 || append(out, line, (size_t)len) != 0 || append(out, "\n", 1) != 0) {
            return -1;
        }
    }
    ward_evlog_ack(&s_agent.log, s_agent.boot_id, ward_evlog_last_seq(&s_agent.log));
    return 0;
}

static const char *feed_error(int rc)
{
    switch (rc) {
    case -ENOSPC:
        return "too many sensors or rate sensors for this build (raise "
               "CONFIG_WARD_HEALTH_MAX_SENSORS or CONFIG_WARD_HEALTH_MAX_RATES)";
    case -EINVAL:
        return "invalid sensor id";
    default:
        return "the engine refused the reading";
    }
}

/* Read and evaluate the whole trace into out. @return 0, or -1 after printing the error. */
static int replay(FILE *in, const char *name, struct outbuf *out)
{
    struct ward_json_arena arena;
    struct ward_trace_rec rec;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    int64_t last_t = 0;
    int rc = 0;

    ward_json_arena_init(&arena, s_arena_storage, sizeof(s_arena_storage));
    while ((len = getline(&line, &cap, in)) >= 0) {
        const char *why = "malformed";

        lineno++;
        rc = ward_trace_parse_line(line, (size_t)len, &rec, &why);
        if (rc == -ENODATA) {
            rc = 0;
            continue;
        }
        if (rc != 0) {
            fprintf(stderr, "ward-agent: replay: %s:%lu: %s\n", name, lineno, why);
            break;
        }
        if (rec.t_ms < last_t) {
            fprintf(stderr,
                    "ward-agent: replay: %s:%lu: time goes backwards (t_ms %" PRId64
                    " after %" PRId64 ")\n",
                    name, lineno, rec.t_ms, last_t);
            rc = -1;
            break;
        }
        last_t = rec.t_ms;
        rc = ward_agent_feed(&s_agent, rec.sensor, &rec.reading, rec.t_ms);
        if (rc < 0) {
            fprintf(stderr, "ward-agent: replay: %s:%lu: %s: %s\n", name, lineno, rec.sensor,
                    feed_error(rc));
            break;
        }
        rc = drain(&arena, out);
        if (rc != 0) {
            fprintf(stderr, "ward-agent: replay: out of memory formatting events\n");
            break;
        }
    }
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "ward-agent: replay: cannot read %s: %s\n", name, strerror(errno));
        rc = -1;
    }
    free(line);
    return rc == 0 ? 0 : -1;
}

int cmd_replay(int argc, char **argv)
{
    static const uint8_t boot[WARD_BOOT_ID_LEN];
    struct ward_agent_config cfg = { .boot_id = boot, .no_board_defaults = true };
    const char *rules = NULL;
    const char *trace = NULL;
    struct outbuf out = { 0 };
    FILE *in;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc && rules == NULL) {
            rules = argv[++i];
        } else if (strcmp(argv[i], "--board-defaults") == 0) {
            cfg.no_board_defaults = false;
        } else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && trace == NULL) {
            trace = argv[i];
        } else {
            usage();
            return 2;
        }
    }
    if (rules == NULL || trace == NULL) {
        usage();
        return 2;
    }
    if (ward_agent_init(&s_agent, &cfg, 0) != 0 || load_rules(rules) != 0) {
        return 1;
    }
    in = strcmp(trace, "-") == 0 ? stdin : fopen(trace, "rb");
    if (in == NULL) {
        fprintf(stderr, "ward-agent: replay: cannot open trace %s: %s\n", trace, strerror(errno));
        return 1;
    }
    rc = replay(in, trace, &out);
    if (in != stdin) {
        fclose(in);
    }
    if (rc == 0 && out.len > 0 &&
        (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)) {
        fprintf(stderr, "ward-agent: replay: cannot write the output: %s\n", strerror(errno));
        rc = -1;
    }
    free(out.data);
    return rc == 0 ? 0 : 1;
}
