/*
 * The incident half of the operator API, on the event loop with a connection of its own:
 *   GET  /v1/incidents?state=&severity=&device=&limit=   newest first
 *   GET  /v1/incidents/{id}                              the incident, timeline, notifications
 *   GET  /v1/incidents/{id}/report                       the fault report's data
 *   POST /v1/incidents/{id}/{ack,assign,commander,note,resolve,close,followup}
 *                                                        {"text": "..."} (who: the token's name)
 *   GET  /v1/silences, POST /v1/silences {"match": GLOB, "for_s": N, "reason": TEXT}
 *   /v1/drills...                                        drills.c
 * A change writes the row, its timeline entry and its notifications in one transaction.
 */
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/base/jscan.h"

#include "audit/audit.h"
#include "commit/bus.h"
#include "common/jw.h"
#include "common/log.h"
#include "export/prom.h"
#include "incidents/drills.h"
#include "incidents/incidents.h"
#include "incidents/model.h"
#include "server/conn.h"
#include "store/store.h"

#define RESPONSE_LIMIT (8u * 1024u * 1024u)
#define LIST_DEFAULT   100
#define LIST_MAX       1000
#define TIMELINE_MAX   1000
#define READINGS_MAX   200

struct body {
    char text[WCOL_INC_NOTE_MAX + 2];
    char match[64];
    int64_t for_s;
    bool has_text;
};

void wcol_inc_answer(struct wcol_conn *conn, struct wcol_jw *w)
{
    size_t len;

    if (w->failed) {
        wcol_jw_free(w);
        wcol_conn_error(conn, 500, "response too large");
        return;
    }
    char *b = wcol_jw_take(w, &len);

    wcol_conn_respond(conn, 200, b, len, NULL, !wcol_conn_request(conn)->keep_alive);
    free(b);
}

/* {"text": "...", "match": "...", "for_s": N}; text up to WCOL_INC_NOTE_MAX bytes. */
static const char *parse_body(const char *s, size_t len, struct body *b)
{
    struct ward_jscan js;
    char key[16];
    int m;

    memset(b, 0, sizeof(*b));
    if (len == 0) {
        return NULL;
    }
    ward_jscan_init(&js, s, len);
    ward_jscan_object(&js);
    while ((m = ward_jscan_member(&js, key, sizeof(key))) > 0) {
        if (strcmp(key, "text") == 0) {
            if (ward_jscan_string(&js, b->text, sizeof(b->text)) == -ENAMETOOLONG ||
                strlen(b->text) > WCOL_INC_NOTE_MAX) {
                return "text longer than 1000 bytes";
            }
            b->has_text = true;
        } else if (strcmp(key, "match") == 0) {
            if (ward_jscan_string(&js, b->match, sizeof(b->match)) < 0) {
                return "match is a device id or glob of 1-63 bytes";
            }
        } else if (strcmp(key, "for_s") == 0) {
            ward_jscan_int64(&js, &b->for_s);
        } else {
            return "unknown member (text, match, for_s)";
        }
    }
    if (m < 0 || ward_jscan_end(&js) != 0) {
        return "the body is not a JSON object of strings";
    }
    return NULL;
}

/* ---- reading ---- */

static void incident_fields(struct wcol_jw *w, const struct wcol_incident *x)
{
    wcol_jw_kint(w, "id", x->id);
    wcol_jw_kstr(w, "device", x->device);
    wcol_jw_kstr(w, "component", x->component);
    wcol_jw_kstr(w, "state", x->state);
    wcol_jw_kstr(w, "severity", wcol_inc_sev_name(x->severity));
    wcol_jw_kstr(w, "reading", x->last_state[0] ? x->last_state : NULL);
    wcol_jw_key(w, "flapping");
    wcol_jw_bool(w, x->flapping != 0);
    wcol_jw_kint(w, "parent", x->parent);
    wcol_jw_key(w, "group");
    wcol_jw_bool(w, x->is_parent != 0);
    wcol_jw_kint(w, "events", x->events);
    wcol_jw_kint(w, "reopened", x->reopened);
    wcol_jw_key(w, "escalated");
    wcol_jw_bool(w, x->escalated != 0);
    wcol_jw_kint(w, "first_event_ms", x->first_event_ms);
    wcol_jw_kint(w, "opened_ms", x->opened_ms);
    wcol_jw_kint(w, "acked_ms", x->acked_ms);
    wcol_jw_kint(w, "resolved_ms", x->resolved_ms);
    wcol_jw_kint(w, "closed_ms", x->closed_ms);
    wcol_jw_kint(w, "healthy_since_ms", x->healthy_since_ms);
    wcol_jw_kstr(w, "assignee", x->assignee[0] ? x->assignee : NULL);
    wcol_jw_kstr(w, "commander", x->commander[0] ? x->commander : NULL);
    wcol_jw_kstr(w, "runbook", x->runbook[0] ? x->runbook : NULL);
    wcol_jw_key(w, "drill");
    wcol_jw_bool(w, x->drill != 0);
    wcol_jw_kint(w, "drill_id", x->drill_id);
}

static void text_col(struct wcol_jw *w, const char *k, struct wcol_idb_stmt *st, int i)
{
    wcol_jw_kstr(w, k, (const char *)wcol_idb_column_text(st, i));
}

int wcol_inc_rows_into(struct wcol_jw *w, struct wcol_idb *db, const char *sql, int64_t id,
                       const char *const *names, const char *types, unsigned max)
{
    struct wcol_idb_stmt *st = NULL;

    if (wcol_idb_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    wcol_idb_bind_int64(st, 1, id);
    wcol_idb_bind_int(st, 2, (int)max);
    wcol_jw_arr_begin(w);
    while (!w->failed && wcol_idb_step(st) == SQLITE_ROW) {
        wcol_jw_obj_begin(w);
        for (int i = 0; types[i]; i++) {
            if (wcol_idb_column_type(st, i) == SQLITE_NULL) {
                wcol_jw_key(w, names[i]);
                wcol_jw_null(w);
            } else if (types[i] == 'i') {
                wcol_jw_kint(w, names[i], wcol_idb_column_int64(st, i));
            } else if (types[i] == 'r') {
                wcol_jw_key(w, names[i]);
                wcol_jw_raw(w, (const char *)wcol_idb_column_text(st, i),
                            (size_t)wcol_idb_column_bytes(st, i));
            } else {
                text_col(w, names[i], st, i);
            }
        }
        wcol_jw_obj_end(w);
    }
    wcol_jw_arr_end(w);
    wcol_idb_finalize(st);
    return 0;
}

static const char *const s_tl_names[] = { "id", "at_ms", "who", "what", "detail", "event_id" };
static const char *const s_nf_names[] = { "receiver", "kind",       "key",          "state",
                                          "attempts", "created_ms", "delivered_ms", "last_error" };

static void incident_doc(struct wcol_idb *db, struct wcol_jw *w, const struct wcol_incident *x)
{
    char extra[WCOL_INC_NOTE_MAX * 2 + 2] = "";
    struct wcol_idb_stmt *st = NULL;

    wcol_jw_obj_begin(w);
    incident_fields(w, x);
    if (wcol_idb_prepare_v2(db, "SELECT cause, followup FROM incidents WHERE id = ?1", -1, &st,
                            NULL) == SQLITE_OK) {
        wcol_idb_bind_int64(st, 1, x->id);
        if (wcol_idb_step(st) == SQLITE_ROW) {
            text_col(w, "cause", st, 0);
            text_col(w, "followup", st, 1);
        }
        wcol_idb_finalize(st);
    }
    (void)extra;
    wcol_jw_key(w, "timeline");
    wcol_inc_rows_into(w, db,
                       "SELECT id, at_ms, who, what, detail, event_id FROM incident_timeline WHERE "
                       "incident = ?1 ORDER BY id LIMIT ?2",
                       x->id, s_tl_names, "iisssi", TIMELINE_MAX);
    wcol_jw_key(w, "notifications");
    wcol_inc_rows_into(
        w, db,
        "SELECT receiver, kind, key, state, attempts, created_ms, delivered_ms, last_error "
        "FROM outbox WHERE incident = ?1 AND kind != 'refresh' ORDER BY id LIMIT ?2",
        x->id, s_nf_names, "ssssiiis", TIMELINE_MAX);
}

int64_t wcol_inc_parse_id(const char *s, size_t n)
{
    int64_t v = 0;

    if (n == 0 || n > 15) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static void get_one(struct wcol_incidents *in, struct wcol_conn *conn, int64_t id, bool report)
{
    struct wcol_incident x;
    struct wcol_jw w;
    int rc = wcol_inc_get(in->api_db, id, &x);

    if (rc != 0) {
        wcol_conn_error(conn, rc == -ENOENT ? 404 : 503,
                        rc == -ENOENT ? "no such incident" : "storage unavailable");
        return;
    }
    wcol_jw_init(&w, RESPONSE_LIMIT);
    incident_doc(in->api_db, &w, &x);
    if (report) {
        static const char *const rn[] = { "id", "received_ms", "time_ms", "from",
                                          "to", "severity",    "value" };
        int64_t end = x.resolved_ms ? x.resolved_ms : wcol_inc_now_ms();

        wcol_jw_key(&w, "durations_ms");
        wcol_jw_obj_begin(&w);
        wcol_jw_kint(&w, "detect", x.opened_ms - x.first_event_ms);
        wcol_jw_kint(&w, "acknowledge", x.acked_ms ? x.acked_ms - x.opened_ms : -1);
        wcol_jw_kint(&w, "resolve", x.resolved_ms ? x.resolved_ms - x.opened_ms : -1);
        wcol_jw_obj_end(&w);
        (void)end;
        /* The readings of the component around the incident (the events the agent sent). */
        wcol_jw_key(&w, "readings");
#define READINGS_FROM                                                                              \
    " FROM events AS e, incidents AS i WHERE i.id = ?1 AND e.device = i.device AND e.sensor = "    \
    "i.component AND e.received_ms >= i.opened_ms - 3600000 AND (i.resolved_ms = 0 OR "            \
    "e.received_ms <= i.resolved_ms + 600000) ORDER BY e.id LIMIT ?2"
        wcol_inc_rows_into(&w, in->api_db,
                           wcol_idb_sql(in->api_db,
                                        "SELECT e.id, e.received_ms, e.time_ms, e.from_state, "
                                        "e.to_state, e.severity, json_extract(e.doc, "
                                        "'$.value')" READINGS_FROM,
                                        "SELECT e.id, e.received_ms, e.time_ms, e.from_state, "
                                        "e.to_state, e.severity, "
                                        "e.doc::jsonb->>'value'" READINGS_FROM),
                           x.id, rn, "iiissss", READINGS_MAX);
        static const char *const sn[] = { "sensor" };

        /* The thresholds in force are the agent's rules; the snapshot row names the rule kind
         * and carries the current reading. */
        wcol_jw_key(&w, "current");
        wcol_inc_rows_into(
            &w, in->api_db,
            "SELECT s.doc FROM snapshot_sensors AS s, incidents AS i WHERE i.id = ?1 AND "
            "s.device = i.device AND s.id = i.component LIMIT ?2",
            x.id, sn, "r", 1);
    }
    wcol_jw_obj_end(&w);
    wcol_inc_answer(conn, &w);
}

static const char *list_query(const char *q, size_t qlen, char *state, int *sev, char *device,
                              int *limit)
{
    char buf[512];

    if (qlen >= sizeof(buf)) {
        return "query too long";
    }
    memcpy(buf, q, qlen);
    buf[qlen] = '\0';
    for (char *save = NULL, *kv = strtok_r(buf, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *v = strchr(kv, '=');

        if (v == NULL) {
            return "malformed query string";
        }
        *v++ = '\0';
        if (strcmp(kv, "state") == 0 && strlen(v) < 16 &&
            (wcol_inc_live(v) || !strcmp(v, "resolved") || !strcmp(v, "closed") ||
             !strcmp(v, "live"))) {
            strcpy(state, v);
        } else if (strcmp(kv, "severity") == 0 && wcol_store_severity_rank(v) >= 0) {
            *sev = wcol_store_severity_rank(v);
        } else if (strcmp(kv, "device") == 0 && strlen(v) > 0 && strlen(v) < 64) {
            strcpy(device, v);
        } else if (strcmp(kv, "limit") == 0 && atoi(v) >= 1 && atoi(v) <= LIST_MAX) {
            *limit = atoi(v);
        } else {
            return "query: state (open, reopened, acknowledged, resolved, closed, live), "
                   "severity (low, medium, high), device, limit (1-1000)";
        }
    }
    return NULL;
}

static void get_list(struct wcol_incidents *in, struct wcol_conn *conn, const char *q, size_t ql)
{
    char state[16] = "", device[64] = "";
    int sev = 0, limit = LIST_DEFAULT;
    const char *why = list_query(q, ql, state, &sev, device, &limit);
    struct wcol_idb_stmt *st = NULL;
    struct wcol_jw w;

    if (why != NULL) {
        wcol_conn_error(conn, 400, why);
        return;
    }
    if (wcol_idb_prepare_v2(in->api_db,
                            "SELECT " INC_COLS
                            " FROM incidents WHERE (?1 = '' OR state = ?1 OR (?1 = 'live' "
                            "AND state IN ('open', 'reopened', 'acknowledged'))) AND severity >= "
                            "?2 AND (?3 = '' OR device = ?3) ORDER BY id DESC LIMIT ?4",
                            -1, &st, NULL) != SQLITE_OK) {
        wcol_conn_error(conn, 503, "storage unavailable");
        return;
    }
    wcol_idb_bind_text(st, 1, state, -1, SQLITE_STATIC);
    wcol_idb_bind_int(st, 2, sev);
    wcol_idb_bind_text(st, 3, device, -1, SQLITE_STATIC);
    wcol_idb_bind_int(st, 4, limit);
    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "incidents");
    wcol_jw_arr_begin(&w);
    while (!w.failed && wcol_idb_step(st) == SQLITE_ROW) {
        struct wcol_incident x;

        /* The rows themselves: one query, not one per incident (a round trip each with
         * PostgreSQL, on the event loop). */
        wcol_inc_row(st, &x);
        wcol_jw_obj_begin(&w);
        incident_fields(&w, &x);
        wcol_jw_obj_end(&w);
    }
    wcol_idb_finalize(st);
    wcol_jw_arr_end(&w);
    wcol_jw_obj_end(&w);
    wcol_inc_answer(conn, &w);
}

/* ---- changing ---- */

struct action {
    const char *name;
    const char *from;   /* states it may start from, "" any but closed */
    const char *to;     /* new state, NULL unchanged */
    const char *notify; /* notification kind, NULL none */
    bool needs_text;
};

static const struct action s_actions[] = {
    { "ack", "open reopened", "acknowledged", "acknowledged", false },
    { "assign", "", NULL, NULL, true },
    { "commander", "", NULL, NULL, true },
    { "note", "*", NULL, NULL, true },
    { "resolve", "open reopened acknowledged", "resolved", "resolved", false },
    { "close", "resolved", "closed", "closed", false },
    { "followup", "*", NULL, NULL, true },
};

static bool allowed(const struct action *a, const char *state)
{
    if (strcmp(a->from, "*") == 0) {
        return true;
    }
    if (a->from[0] == '\0') {
        return strcmp(state, "closed") != 0;
    }
    const char *p = strstr(a->from, state);
    size_t n = strlen(state);

    return p != NULL && (p[n] == ' ' || p[n] == '\0') && (p == a->from || p[-1] == ' ');
}

static int apply(struct wcol_incidents *in, struct wcol_incident *x, const struct action *a,
                 const char *who, const struct body *b, int64_t now)
{
    struct wcol_idb *db = in->api_db;
    char detail[WCOL_INC_NOTE_MAX + 64];
    const char *col = NULL;

    if (strcmp(a->name, "assign") == 0) {
        snprintf(x->assignee, sizeof(x->assignee), "%.63s", b->text);
    } else if (strcmp(a->name, "commander") == 0) {
        snprintf(x->commander, sizeof(x->commander), "%.63s", b->text);
    } else if (strcmp(a->name, "ack") == 0) {
        x->acked_ms = now;
    } else if (strcmp(a->name, "resolve") == 0) {
        x->resolved_ms = now;
        x->healthy_since_ms = 0;
        col = b->has_text ? "cause" : NULL;
    } else if (strcmp(a->name, "close") == 0) {
        x->closed_ms = now;
    } else if (strcmp(a->name, "followup") == 0) {
        col = "followup";
    }
    if (a->to != NULL) {
        snprintf(x->state, sizeof(x->state), "%s", a->to);
    }
    if (col != NULL) {
        char sql[80];
        struct wcol_idb_stmt *st = NULL;

        snprintf(sql, sizeof(sql), "UPDATE incidents SET %s = ?2 WHERE id = ?1", col);
        if (wcol_idb_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            return -EIO;
        }
        wcol_idb_bind_int64(st, 1, x->id);
        wcol_idb_bind_text(st, 2, b->text, -1, SQLITE_STATIC);
        int rc = wcol_idb_step(st);

        wcol_idb_finalize(st);
        if (rc != SQLITE_DONE) {
            return -EIO;
        }
    }
    snprintf(detail, sizeof(detail), "%s", b->has_text ? b->text : "");
    int64_t tl = wcol_inc_timeline(db, x->id, now, who, a->name, b->has_text ? detail : NULL, 0);

    if (tl < 0 || wcol_inc_put(db, x) != 0) {
        return -EIO;
    }
    return a->notify ? wcol_inc_notify(in, db, x, a->notify, tl, now) : 0;
}

/* An operator's change to an incident, in the audit log (audit/audit.h). */
static void audit_incident(struct wcol_conn *conn, const char *who, const char *verb, int64_t id,
                           const char *text)
{
    char action[32], target[24];

    snprintf(action, sizeof(action), "incident.%s", verb);
    snprintf(target, sizeof(target), "%lld", (long long)id);
    (void)wcol_audit_append(wcol_conn_collector(conn), who, action, target, text);
}

static void change(struct wcol_incidents *in, struct wcol_conn *conn, int64_t id, const char *verb,
                   size_t vlen, const char *who, const char *body, size_t len)
{
    const struct action *a = NULL;
    struct wcol_incident x;
    struct body b;
    const char *why = parse_body(body, len, &b);
    char msg[200];

    for (size_t i = 0; i < sizeof(s_actions) / sizeof(s_actions[0]); i++) {
        if (strlen(s_actions[i].name) == vlen && memcmp(s_actions[i].name, verb, vlen) == 0) {
            a = &s_actions[i];
        }
    }
    if (a == NULL) {
        wcol_conn_error(conn, 404,
                        "no such action (ack, assign, commander, note, resolve, close, followup)");
        return;
    }
    if (why == NULL && (a->name[0] == 'a' || a->name[0] == 'c') && a->needs_text &&
        strlen(b.text) > WCOL_INC_WHO_MAX) {
        why = "a name is at most 63 bytes";
    }
    if (why != NULL || (a->needs_text && (!b.has_text || b.text[0] == '\0'))) {
        wcol_conn_error(conn, 400, why ? why : "this action needs {\"text\": \"...\"}");
        return;
    }
    if (wcol_inc_exec(in->api_db, "BEGIN IMMEDIATE") != 0) {
        wcol_conn_error(conn, 503, "storage busy; try again");
        return;
    }
    int rc = wcol_inc_get(in->api_db, id, &x);

    if (rc == 0 && !allowed(a, x.state)) {
        wcol_inc_exec(in->api_db, "ROLLBACK");
        snprintf(msg, sizeof(msg), "incident %lld is %s: %s needs it %s", (long long)id, x.state,
                 a->name, a->from);
        wcol_conn_error(conn, 409, msg);
        return;
    }
    rc = rc ?: apply(in, &x, a, who, &b, wcol_inc_now_ms());
    if (rc != 0 || wcol_inc_exec(in->api_db, "COMMIT") != 0) {
        wcol_inc_exec(in->api_db, "ROLLBACK");
        wcol_conn_error(conn, rc == -ENOENT ? 404 : 503,
                        rc == -ENOENT ? "no such incident" : "storage unavailable");
        return;
    }
    wcol_log_info("incident %lld: %s by %s", (long long)id, a->name, who);
    audit_incident(conn, who, a->name, id, b.has_text ? b.text : "");
    wcol_inc_wake(in, false, true);
    get_one(in, conn, id, false);
}

/* ---- silences ---- */

static void silences(struct wcol_incidents *in, struct wcol_conn *conn, bool post, const char *who,
                     const char *body, size_t len)
{
    static const char *const names[] = { "id", "match", "created_ms", "until_ms", "who", "reason" };
    struct body b;
    struct wcol_jw w;
    int64_t now = wcol_inc_now_ms();

    if (post) {
        const char *why = parse_body(body, len, &b);
        struct wcol_idb_stmt *st = NULL;

        if (why == NULL && (b.match[0] == '\0' || b.for_s < 1 || b.for_s > 90LL * 86400 ||
                            !b.has_text || b.text[0] == '\0')) {
            why = "a silence needs match (device id or glob), for_s (1 s to 90 days) and "
                  "text (the reason)";
        }
        if (why != NULL) {
            wcol_conn_error(conn, 400, why);
            return;
        }
        if (wcol_idb_prepare_v2(in->api_db,
                                "INSERT INTO silences (pattern, created_ms, until_ms, who, reason) "
                                "VALUES (?1, ?2, ?3, ?4, ?5)",
                                -1, &st, NULL) != SQLITE_OK) {
            wcol_conn_error(conn, 503, "storage unavailable");
            return;
        }
        wcol_idb_bind_text(st, 1, b.match, -1, SQLITE_STATIC);
        wcol_idb_bind_int64(st, 2, now);
        wcol_idb_bind_int64(st, 3, now + b.for_s * 1000);
        wcol_idb_bind_text(st, 4, who, -1, SQLITE_STATIC);
        wcol_idb_bind_text(st, 5, b.text, -1, SQLITE_STATIC);
        int rc = wcol_idb_step(st);

        wcol_idb_finalize(st);
        if (rc != SQLITE_DONE) {
            wcol_conn_error(conn, 503, "storage unavailable");
            return;
        }
        wcol_log_info("silence of %s for %lld s by %s: %s", b.match, (long long)b.for_s, who,
                      b.text);
        char detail[WCOL_INC_NOTE_MAX + 40];

        snprintf(detail, sizeof(detail), "for %lld s: %s", (long long)b.for_s, b.text);
        (void)wcol_audit_append(wcol_conn_collector(conn), who, "silence.create", b.match, detail);
    }
    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "silences");
    wcol_inc_rows_into(
        &w, in->api_db,
        "SELECT id, pattern, created_ms, until_ms, who, reason FROM silences WHERE until_ms "
        "> ?1 ORDER BY id LIMIT ?2",
        now, names, "isiiss", LIST_MAX);
    wcol_jw_obj_end(&w);
    wcol_inc_answer(conn, &w);
}

static bool request(struct wcol_incidents *in, struct wcol_conn *conn, const char *who,
                    const char *body, size_t len)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const char *t = r->target, *q = memchr(t, '?', r->target_len);
    size_t pl = q ? (size_t)(q - t) : r->target_len, ql = q ? r->target_len - pl - 1 : 0;
    bool post = r->method == WCOL_HTTP_POST;

    if (pl == 12 && memcmp(t, "/v1/silences", 12) == 0) {
        silences(in, conn, post, who, body, len);
        return true;
    }
    if (pl < 13 || memcmp(t, "/v1/incidents", 13) != 0 || (pl > 13 && t[13] != '/')) {
        return false;
    }
    if (pl == 13) {
        if (post) {
            wcol_conn_wrong_method(conn, "GET");
        } else {
            get_list(in, conn, q ? q + 1 : "", ql);
        }
        return true;
    }
    const char *id_s = t + 14, *slash = memchr(id_s, '/', pl - 14);
    size_t idl = slash ? (size_t)(slash - id_s) : pl - 14;
    int64_t id = wcol_inc_parse_id(id_s, idl);
    const char *verb = slash ? slash + 1 : NULL;
    size_t vl = slash ? pl - 14 - idl - 1 : 0;

    if (id < 0) {
        wcol_conn_error(conn, 400, "an incident id is a number");
    } else if (verb == NULL || (vl == 6 && memcmp(verb, "report", 6) == 0)) {
        if (post) {
            wcol_conn_wrong_method(conn, "GET");
        } else {
            get_one(in, conn, id, verb != NULL);
        }
    } else if (!post) {
        wcol_conn_wrong_method(conn, "POST");
    } else {
        change(in, conn, id, verb, vl, who, body, len);
    }
    return true;
}

/* ---- metrics ---- */

void wcol_incidents_metrics(struct wcol_incidents *in, struct wcol_prom *w)
{
    static const char *const states[] = { "open", "reopened", "acknowledged" };
    int64_t n[3][4] = { { 0 } };
    struct wcol_idb_stmt *st = NULL;

    if (wcol_idb_prepare_v2(in->api_db,
                            "SELECT state, severity, count(*) FROM incidents WHERE state IN "
                            "('open', 'reopened', 'acknowledged') GROUP BY state, severity",
                            -1, &st, NULL) == SQLITE_OK) {
        while (wcol_idb_step(st) == SQLITE_ROW) {
            const char *s = (const char *)wcol_idb_column_text(st, 0);
            int sev = wcol_idb_column_int(st, 1) & 3;

            for (int i = 0; i < 3; i++) {
                if (s && strcmp(s, states[i]) == 0) {
                    n[i][sev] = wcol_idb_column_int64(st, 2);
                }
            }
        }
        wcol_idb_finalize(st);
    }
    wcol_prom_family(w, "ward_incidents", "gauge",
                     "incidents not yet resolved, by state and severity");
    for (int i = 0; i < 3; i++) {
        for (int s = 1; s <= 3; s++) {
            struct wcol_prom_label l[2] = { { "state", states[i] },
                                            { "severity", wcol_inc_sev_name(s) } };

            wcol_prom_sample_u64(w, "ward_incidents", l, 2, (uint64_t)n[i][s]);
        }
    }
    wcol_prom_family(w, "ward_notifications_sent_total", "counter",
                     "notifications delivered (a 2xx answer)");
    wcol_prom_sample_u64(w, "ward_notifications_sent_total", NULL, 0, atomic_load(&in->sent));
    wcol_prom_family(w, "ward_notifications_failed_total", "counter",
                     "delivery attempts that failed (retried)");
    wcol_prom_sample_u64(w, "ward_notifications_failed_total", NULL, 0,
                         atomic_load(&in->send_failures));
    wcol_prom_family(w, "ward_notifications_pruned_total", "counter",
                     "delivered notifications removed from the outbox (prune-delivered)");
    wcol_prom_sample_u64(w, "ward_notifications_pruned_total", NULL, 0, atomic_load(&in->pruned));
    wcol_prom_family(w, "ward_incidents_engine_active", "gauge",
                     "1 when this collector evaluates incidents and delivers notifications "
                     "(always with SQLite; the leader with PostgreSQL)");
    wcol_prom_sample_u64(w, "ward_incidents_engine_active", NULL, 0, atomic_load(&in->leader));
    wcol_drills_metrics(in, w);
}

/* ---- life ---- */

static void on_event(void *ctx, const struct wcol_msg *msg)
{
    (void)msg;
    wcol_inc_wake(ctx, true, false);
}

int wcol_incidents_subscribe(struct wcol_incidents *in, struct wcol_bus *bus)
{
    return wcol_bus_subscribe(bus, WCOL_TOPIC_EVENT_STORED, on_event, in);
}

bool wcol_incidents_request(struct wcol_incidents *in, struct wcol_conn *conn, const char *who,
                            const char *body, size_t len)
{
    if (in == NULL) {
        return false; /* no incidents (the collector did not open them) */
    }
    /* A change notifies through the policy: a pass like the threads', never waiting (the event
     * loop is the reloader). */
    wcol_inc_pol_enter(in, false);
    bool handled =
        request(in, conn, who, body, len) || wcol_drills_request(in, conn, who, body, len);

    wcol_inc_pol_leave(in);
    return handled;
}

static const char *plural(unsigned n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

int wcol_incidents_reload(struct wcol_incidents *in, const char *alerting)
{
    struct wcol_policy *next = malloc(sizeof(*next));
    unsigned r, o, b;

    if (in == NULL || alerting == NULL) {
        free(next);
        return 0;
    }
    if (next == NULL) {
        wcol_log_error("SIGHUP: alerting %s not reloaded: out of memory", alerting);
        return -ENOMEM;
    }
    wcol_policy_defaults(next);
    if (wcol_policy_load(next, alerting) != 0) {
        free(next);
        wcol_log_warn("SIGHUP: alerting %s not reloaded (the line above says why); the running "
                      "policy is kept",
                      alerting);
        return -EINVAL;
    }
    /* Compare with what will be replaced: a reload still waiting, else the running one. */
    pthread_mutex_lock(&in->mu);
    const struct wcol_policy *was = in->pol_next ? in->pol_next : &in->pol;

    r = was->n_receivers, o = was->n_routes, b = was->n_runbooks;
    pthread_mutex_unlock(&in->mu);
    wcol_log_info("alerting reloaded: %u %s, %u %s, %u %s (before: %u, %u, %u)", next->n_receivers,
                  plural(next->n_receivers, "receiver", "receivers"), next->n_routes,
                  plural(next->n_routes, "route", "routes"), next->n_runbooks,
                  plural(next->n_runbooks, "runbook", "runbooks"), r, o, b);
    wcol_inc_pol_replace(in, next);
    return 0;
}

void wcol_incidents_set_leader(struct wcol_incidents *in, bool leader)
{
    if (in != NULL && atomic_exchange(&in->leader, leader) != leader) {
        wcol_log_info("incidents: %s", leader ? "this collector leads: the engine and the "
                                                "notifications run here"
                                              : "another collector leads the incidents");
        wcol_inc_wake(in, true, true);
    }
}

int wcol_incidents_open(struct wcol_incidents **out, const char *db_path, const char *pg_conninfo,
                        const char *alerting, const char *api_addr)
{
    struct wcol_incidents *in = calloc(1, sizeof(*in));

    *out = in;
    if (in == NULL) {
        return -ENOMEM;
    }
    /* With SQLite this collector is alone: it leads. A cluster's election says (server.c). */
    atomic_store(&in->leader, pg_conninfo == NULL);
    if (pg_conninfo != NULL && (in->pg_conninfo = strdup(pg_conninfo)) == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_init(&in->mu, NULL);
    pthread_cond_init(&in->cv, NULL);
    wcol_policy_defaults(&in->pol);
    if (alerting != NULL && wcol_policy_load(&in->pol, alerting) != 0) {
        return -EINVAL;
    }
    snprintf(in->db_path, sizeof(in->db_path), "%s", db_path);
    const char *slash = strrchr(db_path, '/');

    snprintf(in->inc_path, sizeof(in->inc_path), "%.*sincidents.db",
             slash ? (int)(slash - db_path + 1) : 0, db_path);
    snprintf(in->default_url, sizeof(in->default_url), "https://%s", api_addr);
    snprintf(in->base_url, sizeof(in->base_url), "%s",
             in->pol.external_url[0] ? in->pol.external_url : in->default_url);
    if (wcol_inc_db_open(&in->api_db, in, 1000, "incidents-api") != 0 ||
        wcol_inc_db_migrate(in->api_db) != 0 || wcol_drills_open(in) != 0) {
        return -EIO;
    }
    /* The threads take no signal: the event loop reads them all from its signalfd. */
    sigset_t all, old;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    in->engine_up = pthread_create(&in->engine, NULL, wcol_inc_engine_main, in) == 0;
    in->sender_up =
        in->engine_up && pthread_create(&in->sender, NULL, wcol_inc_sender_main, in) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!in->sender_up) {
        wcol_log_error("incidents: cannot start the engine threads");
        return -ENOMEM;
    }
    wcol_log_info("incidents: %u receivers, %u routes, %u runbooks; hold-down %llu s",
                  in->pol.n_receivers, in->pol.n_routes, in->pol.n_runbooks,
                  (unsigned long long)(in->pol.hold_down_ms / 1000));
    return 0;
}

void wcol_incidents_close(struct wcol_incidents *in)
{
    if (in == NULL) {
        return;
    }
    pthread_mutex_lock(&in->mu);
    in->stop = true;
    pthread_cond_broadcast(&in->cv);
    pthread_mutex_unlock(&in->mu);
    if (in->engine_up) {
        pthread_join(in->engine, NULL);
    }
    if (in->sender_up) {
        pthread_join(in->sender, NULL);
    }
    wcol_drills_free(in);
    wcol_idb_close(in->api_db);
    free(in->pg_conninfo);
    free(in->pol_next);
    pthread_cond_destroy(&in->cv);
    pthread_mutex_destroy(&in->mu);
    free(in);
}
