/*
 * PostgreSQL backend of the storage interface (libpq, PostgreSQL 14 or later for pipelines).
 *
 * Durability: the ack leaves only after COMMIT returned, and PostgreSQL's COMMIT returns
 * after the WAL is flushed (synchronous_commit on, the server's default; the operator's
 * choice, docs/storage.md).
 *
 * Round trips: a batch is sent as one pipeline (BEGIN, every statement, COMMIT, one sync),
 * so a batch costs one round trip whatever its size. When any statement of it fails the
 * pipeline aborts and nothing of it is stored; the batch is then run again one statement at
 * a time with a SAVEPOINT around each request, so that a request failing on its own is undone
 * alone, as in SQLite. A lost connection fails the batch (-EIO: the requests get 503, the
 * agents retry) and is made again in the background (store/pglink.h): until it is, every
 * batch and read fails at once instead of waiting on the event loop.
 *
 * Schema: versioned migrations applied at open under pg_advisory_lock (several collectors
 * may start at once); a database newer than this binary is refused with one line.
 * Deduplication: the primary key of event_keys (device, boot_id, seq) with ON CONFLICT DO
 * NOTHING; events is partitioned by day of received_ms (retention drops whole days), and a
 * unique index on it would have to hold received_ms.
 * The snapshot merge and the heartbeat's sticky fields (store_sqlite.c says what they are)
 * are one PL/pgSQL function, ward_put_report(), so that a report is one statement.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/clock.h"
#include "common/log.h"
#include "store/pgconn.h"
#include "store/pglink.h"
#include "store/store.h"

#define TEXTOID         25           /* pg_type.h's OID of text */
#define PG_LOCK_KEY_STR "2003923556" /* the migrations' advisory lock (any constant) */

struct pg {
    PGconn *c;
    char conninfo[4096];
    char where[160]; /* "database D on host H" for log lines, never the password */
    unsigned max_sensors;
    bool whole_days; /* retention drops whole days only (wcol_store_pg_opts) */
    bool prepared;
    int64_t snapshots_refused;
    int64_t partitions_until; /* received_ms the day partitions are made up to (this run) */
    uint64_t conn_gen;        /* counts the connections made: a new one may be another server */
    struct wcol_pglink link;  /* the connection's state and its reconnect */
    struct wcol_store_stats last_stats; /* the last read: shown while the server is away */
};

/* ---- schema ---- */

/* ward_put_report(), one report: $1 device, $2 received, $3 heartbeat received or NULL,
 * $4 interval or NULL, $5 boot, $6 health, $7 heartbeat, $8 snapshot page, $9 peer,
 * $10 max sensors. The same text in every migration but POS and DOC, the place and document
 * a page's sensor takes when it is stored already, and HB, statements run once the heartbeat
 * and header are merged. */
/* clang-format off */
#define PUT_REPORT(POS, DOC, HB)                                                                   \
    "CREATE OR REPLACE FUNCTION ward_put_report(p_dev text, p_at bigint, p_hb_at bigint,"          \
    "  p_interval bigint, p_boot text, p_health text, p_hb jsonb, p_page jsonb, p_peer text,"      \
    "  p_max bigint) RETURNS void LANGUAGE plpgsql AS $f$ "                                        \
    "DECLARE old devices%ROWTYPE; repl boolean := false; first bigint; cnt bigint := 0;"           \
    "  sensors jsonb; header jsonb; hb jsonb; "                                                    \
    "BEGIN "                                                                                       \
    "  SELECT * INTO old FROM devices WHERE id = p_dev FOR UPDATE;"                                \
    "  IF p_page IS NOT NULL THEN"                                                                 \
    "    first := CASE WHEN jsonb_typeof(p_page->'first') = 'number' "                             \
    "      THEN (p_page->>'first')::bigint ELSE 0 END;"                                            \
    "    sensors := CASE WHEN jsonb_typeof(p_page->'sensors') = 'array' "                          \
    "      THEN p_page->'sensors' ELSE '[]'::jsonb END;"                                           \
    "    repl := old.id IS NULL OR old.snapshot IS NULL "                                          \
    "      OR (old.snapshot->'boot') IS DISTINCT FROM (p_page->'boot') "                           \
    "      OR (first = 0 AND jsonb_typeof(p_page->'sensors_total') = 'number' AND "                \
    "          jsonb_array_length(sensors) >= (p_page->>'sensors_total')::numeric);"               \
    "    IF repl THEN DELETE FROM snapshot_sensors WHERE device = p_dev;"                          \
    "    ELSE cnt := old.sensor_count; END IF;"                                                    \
    "    cnt := cnt + (SELECT count(DISTINCT n.k) FROM (SELECT coalesce(CASE WHEN "                \
    "      jsonb_typeof(e) = 'object' THEN e->>'id' END, chr(1) || (first + o - 1)) AS k "         \
    "      FROM jsonb_array_elements(sensors) WITH ORDINALITY AS t(e, o)) AS n "                   \
    "      WHERE NOT EXISTS (SELECT 1 FROM snapshot_sensors AS s WHERE s.device = p_dev "          \
    "      AND s.id = n.k));"                                                                      \
    "    IF cnt > p_max THEN RAISE EXCEPTION 'ward: snapshot of % exceeds % sensors', p_dev,"      \
    "      p_max USING ERRCODE = 'WS001'; END IF;"                                                 \
    "    INSERT INTO snapshot_sensors (device, id, pos, gen, doc) SELECT DISTINCT ON (k) "         \
    "      p_dev, k, pos, p_at, doc FROM (SELECT coalesce(CASE WHEN jsonb_typeof(e) = 'object' "   \
    "      THEN e->>'id' END, chr(1) || (first + o - 1)) AS k, first + o - 1 AS pos, "             \
    "      e::text AS doc, o FROM jsonb_array_elements(sensors) WITH ORDINALITY AS t(e, o)) "      \
    "      AS p ORDER BY k, o DESC "                                                               \
    "      ON CONFLICT (device, id) DO UPDATE SET pos = " POS ", gen = excluded.gen, "             \
    "      doc = " DOC ";"                                                                         \
    "    header := CASE WHEN repl THEN (CASE WHEN p_page ? 'sensors' "                             \
    "      THEN jsonb_set(p_page, '{sensors}', '[]'::jsonb) ELSE p_page END) "                     \
    "      ELSE jsonb_set(jsonb_set(p_page, '{first}', '0'::jsonb), '{sensors}', '[]'::jsonb) "    \
    "      END;"                                                                                   \
    "  END IF;"                                                                                    \
    "  hb := CASE WHEN p_hb IS NULL THEN old.heartbeat "                                           \
    "    WHEN old.heartbeat IS NULL OR p_hb ? 'config_sha256' "                                    \
    "      OR jsonb_typeof(old.heartbeat) <> 'object' OR jsonb_typeof(p_hb) <> 'object' "          \
    "    THEN p_hb "                                                                               \
    "    ELSE p_hb || jsonb_strip_nulls(jsonb_build_object("                                       \
    "      'uptime_ms', CASE WHEN jsonb_typeof(p_hb->'t_ms') = 'number' AND "                      \
    "        jsonb_typeof(old.heartbeat->'t_ms') = 'number' AND "                                  \
    "        jsonb_typeof(old.heartbeat->'uptime_ms') = 'number' THEN to_jsonb("                   \
    "        (p_hb->>'t_ms')::numeric - (old.heartbeat->>'t_ms')::numeric + "                      \
    "        (old.heartbeat->>'uptime_ms')::numeric) END,"                                         \
    "      'interval_ms', old.heartbeat->'interval_ms', 'firmware', old.heartbeat->'firmware',"    \
    "      'board', old.heartbeat->'board', 'arch', old.heartbeat->'arch',"                        \
    "      'config_sha256', old.heartbeat->'config_sha256',"                                       \
    "      'rules_sha256', old.heartbeat->'rules_sha256', 'memory', old.heartbeat->'memory')) "    \
    "    END;"                                                                                     \
    "  IF p_hb IS NOT NULL AND hb IS NOT NULL AND jsonb_typeof(hb->'loop') = 'object' AND "        \
    "    old.heartbeat #> '{loop,lag_max_ms}' IS NOT NULL AND NOT (p_hb ? 'config_sha256') THEN"   \
    "    hb := jsonb_set(hb, '{loop,lag_max_ms}', old.heartbeat #> '{loop,lag_max_ms}');"          \
    "  END IF;"                                                                                    \
    HB                                                                                             \
    "  IF old.id IS NULL THEN"                                                                     \
    "    INSERT INTO devices (id, first_seen_ms, last_seen_ms, last_heartbeat_ms, interval_ms,"    \
    "      boot_id, health, heartbeat, snapshot, peer, state, state_since_ms, sensor_count)"       \
    "      VALUES (p_dev, p_at, p_at, p_hb_at, p_interval, p_boot, p_health, hb, header, p_peer,"  \
    "      'up', p_at, cnt);"                                                                      \
    "  ELSE"                                                                                       \
    "    UPDATE devices SET last_seen_ms = p_at,"                                                  \
    "      last_heartbeat_ms = coalesce(p_hb_at, last_heartbeat_ms),"                              \
    "      interval_ms = coalesce(p_interval, interval_ms), boot_id = coalesce(p_boot, boot_id),"  \
    "      health = coalesce(p_health, health), heartbeat = hb,"                                   \
    "      snapshot = coalesce(header, snapshot),"                                                 \
    "      sensor_count = CASE WHEN p_page IS NULL THEN sensor_count ELSE cnt END, peer = p_peer"  \
    "      WHERE id = p_dev;"                                                                      \
    "  END IF;"                                                                                    \
    "END $f$;"
/* clang-format on */

/* ward_expire(), retention: the days wholly before the cutoff dropped, then a bounded slice of
 * rows, then of the identities. @return the events deleted. DROPPED: statements run once a
 * day's partition of m events is dropped. */
/* clang-format off */
#define EXPIRE(DROPPED)                                                                            \
    "CREATE OR REPLACE FUNCTION ward_expire(p_cutoff bigint, p_max integer) "                     \
    "  RETURNS bigint LANGUAGE plpgsql AS $f$ "                                                    \
    "DECLARE r record; n bigint := 0; m bigint; "                                                  \
    "BEGIN "                                                                                       \
    "  FOR r IN SELECT c.relname AS name FROM pg_inherits AS i JOIN pg_class AS c "                \
    "    ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass "                            \
    "    AND c.relname ~ '^events_d[0-9]+$' "                                                      \
    "    AND (substr(c.relname, 9)::bigint + 1) * 86400000 <= p_cutoff LOOP"                       \
    "    EXECUTE format('SELECT count(*) FROM %I', r.name) INTO m;"                                \
    "    EXECUTE format('DROP TABLE %I', r.name);"                                                 \
    DROPPED                                                                                        \
    "    n := n + m;"                                                                              \
    "  END LOOP;"                                                                                  \
    "  DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT p_max) "            \
    "    AND received_ms < p_cutoff;"                                                              \
    "  GET DIAGNOSTICS m = ROW_COUNT;"                                                             \
    "  DELETE FROM event_keys WHERE ctid = ANY (ARRAY(SELECT ctid FROM event_keys "                \
    "    WHERE received_ms < p_cutoff LIMIT p_max));"                                              \
    "  RETURN n + m; "                                                                             \
    "END $f$;"
/* clang-format on */

static const char s_schema_v1[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "  version integer PRIMARY KEY,"
    "  applied_ms bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS devices ("
    "  id text PRIMARY KEY,"
    "  first_seen_ms bigint NOT NULL,"
    "  last_seen_ms bigint NOT NULL,"
    "  last_heartbeat_ms bigint,"
    "  interval_ms bigint,"
    "  boot_id text,"
    "  state text NOT NULL DEFAULT 'up',"
    "  state_since_ms bigint,"
    "  health text,"
    "  heartbeat jsonb,"
    "  snapshot jsonb,"
    "  peer text,"
    "  sensor_count bigint NOT NULL DEFAULT 0);"
    /* Events in one partition per day of received_ms (events_d<day>, created ahead by
     * ward_event_partitions(); a default one catches a clock gone back), so retention drops
     * whole days. A unique index on a partitioned table must hold the partition key, so the
     * identity that deduplicates lives in event_keys, beside it. */
    "CREATE TABLE IF NOT EXISTS events ("
    "  id bigint GENERATED ALWAYS AS IDENTITY,"
    "  device text NOT NULL,"
    "  boot_id text NOT NULL,"
    "  seq bigint,"
    "  received_ms bigint NOT NULL,"
    "  time_ms bigint,"
    "  sensor text,"
    "  from_state text,"
    "  to_state text,"
    "  severity text NOT NULL,"
    "  severity_rank integer NOT NULL,"
    "  doc text NOT NULL,"
    "  PRIMARY KEY (id, received_ms)) PARTITION BY RANGE (received_ms);"
    "CREATE TABLE IF NOT EXISTS events_default PARTITION OF events DEFAULT;"
    "CREATE INDEX IF NOT EXISTS events_by_device ON events (device, id);"
    "CREATE TABLE IF NOT EXISTS event_keys ("
    "  device text NOT NULL,"
    "  boot_id text NOT NULL,"
    "  seq bigint NOT NULL,"
    "  received_ms bigint NOT NULL,"
    "  PRIMARY KEY (device, boot_id, seq));"
    "CREATE INDEX IF NOT EXISTS event_keys_received ON event_keys (received_ms);"
    "CREATE OR REPLACE FUNCTION ward_event_partitions(p_at bigint, p_days integer) "
    "  RETURNS void LANGUAGE plpgsql AS $f$ "
    "DECLARE d bigint; "
    "BEGIN "
    "  FOR d IN p_at / 86400000 .. p_at / 86400000 + p_days LOOP"
    "    EXECUTE format('CREATE TABLE IF NOT EXISTS events_d%s PARTITION OF events "
    "      FOR VALUES FROM (%s) TO (%s)', d, d::bigint * 86400000, (d::bigint + 1) * 86400000);"
    "  END LOOP; "
    "END $f$;"
    /* clang-format off */
    EXPIRE("")
    /* clang-format on */
    "CREATE TABLE IF NOT EXISTS snapshot_sensors ("
    "  device text NOT NULL,"
    "  id text NOT NULL,"
    "  pos bigint NOT NULL,"
    "  gen bigint NOT NULL,"
    "  doc text NOT NULL,"
    "  PRIMARY KEY (device, id));" PUT_REPORT("excluded.pos", "excluded.doc", "");

/*
 * Migration 3: a delta page's sensor carries no thresholds ("thr", "thr_below": full pages
 * only, docs/protocol.md): it keeps the stored ones (a full page's replaces them, thresholds
 * and all) and its place. A compact heartbeat without "events" keeps the stored counters.
 */
/* clang-format off */
/* A delta page's sensor keeps its place, as in the SQLite store. */
#define V3_POS \
    "CASE WHEN p_page->'delta' = 'true'::jsonb THEN snapshot_sensors.pos ELSE excluded.pos END"
#define V3_DOC \
    "CASE WHEN p_page->'delta' = 'true'::jsonb " \
    "AND jsonb_typeof(excluded.doc::jsonb) = 'object' " \
    "AND NOT (excluded.doc::jsonb ?| array['thr', 'thr_below']) " \
    "AND jsonb_typeof(snapshot_sensors.doc::jsonb) = 'object' " \
    "AND snapshot_sensors.doc::jsonb ?| array['thr', 'thr_below'] " \
    "THEN (excluded.doc::jsonb || jsonb_strip_nulls(jsonb_build_object(" \
    "'thr', snapshot_sensors.doc::jsonb->'thr', " \
    "'thr_below', snapshot_sensors.doc::jsonb->'thr_below')))::text ELSE excluded.doc END"
/* A compact heartbeat without "events": nothing pending, the counters the stored ones. */
#define V3_HB \
    "  IF p_hb IS NOT NULL AND hb IS NOT NULL AND jsonb_typeof(hb) = 'object' AND " \
    "    NOT (p_hb ? 'config_sha256') AND NOT (p_hb ? 'events') AND " \
    "    jsonb_typeof(old.heartbeat->'events') = 'object' THEN " \
    "    hb := jsonb_set(hb, '{events}', (old.heartbeat->'events') - 'pending');" \
    "  END IF;" \
    /* "delta" describes the page, not the stored snapshot (as in the SQLite store). */ \
    "  header := header - 'delta';"
static const char s_schema_v3[] = PUT_REPORT(V3_POS, V3_DOC, V3_HB);

/*
 * Migration 4: a compact heartbeat without "health" (the summary unchanged since the last
 * acknowledged one, docs/protocol.md) keeps the stored summary, as in the SQLite store. The
 * devices.health column already kept its value (coalesce).
 */
static const char s_schema_v4[] = PUT_REPORT(V3_POS, V3_DOC, V3_HB
    "  IF p_hb IS NOT NULL AND hb IS NOT NULL AND jsonb_typeof(hb) = 'object' AND "
    "    NOT (p_hb ? 'config_sha256') AND NOT (p_hb ? 'health') AND "
    "    jsonb_typeof(old.heartbeat->'health') = 'object' THEN "
    "    hb := jsonb_set(hb, '{health}', old.heartbeat->'health');"
    "  END IF;");
/* clang-format on */

/* Several collectors on one database (cluster/cluster.c): the TLS session ticket keys they
 * share, added by the leader, the newest two read by every collector. */
static const char s_schema_v2[] =
    "CREATE TABLE IF NOT EXISTS ticket_keys ("
    "  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  created_s bigint NOT NULL,"
    "  key bytea NOT NULL CHECK (length(key) = 32));"
    /* CREATE TABLE IF NOT EXISTS is not safe against itself: two collectors making the same
     * day's partition at once, one of them failed ("already exists"). A transaction lock
     * (any constant) makes them take turns. */
    "CREATE OR REPLACE FUNCTION ward_event_partitions(p_at bigint, p_days integer) "
    "  RETURNS void LANGUAGE plpgsql AS $f$ "
    "DECLARE d bigint; "
    "BEGIN "
    "  PERFORM pg_advisory_xact_lock(2003923558);"
    "  FOR d IN p_at / 86400000 .. p_at / 86400000 + p_days LOOP"
    "    EXECUTE format('CREATE TABLE IF NOT EXISTS events_d%s PARTITION OF events "
    "      FOR VALUES FROM (%s) TO (%s)', d, d::bigint * 86400000, (d::bigint + 1) * 86400000);"
    "  END LOOP; "
    "END $f$;";

/* Accounts, sessions and API tokens of the operator API, its audit log, device revocations
 * and enrolment tokens, shared by every collector on the database (auth/auth_pg.c,
 * audit/audit_pg.c, devices/devices_pg.c; the SQLite tables in auth/, audit/, devices/). */
static const char s_schema_v5[] =
    "CREATE TABLE op_users (name text PRIMARY KEY, role text NOT NULL, pw_hash text NOT NULL,"
    "  totp_secret bytea, totp_last_step bigint NOT NULL DEFAULT 0,"
    "  failures bigint NOT NULL DEFAULT 0, locked_until_ms bigint NOT NULL DEFAULT 0,"
    "  created_ms bigint NOT NULL, changed_ms bigint NOT NULL);"
    "CREATE TABLE op_sessions (sha256 bytea PRIMARY KEY, user_name text NOT NULL,"
    "  source text NOT NULL, created_ms bigint NOT NULL, expires_ms bigint NOT NULL,"
    "  revoked_ms bigint);"
    "CREATE INDEX op_sessions_user ON op_sessions (user_name);"
    "CREATE TABLE op_tokens (name text PRIMARY KEY, sha256 bytea NOT NULL UNIQUE,"
    "  role text NOT NULL, devices text NOT NULL, from_cidr text NOT NULL,"
    "  created_ms bigint NOT NULL, created_by text NOT NULL, expires_ms bigint NOT NULL,"
    "  revoked_ms bigint, last_used_ms bigint, uses bigint NOT NULL DEFAULT 0);"
    /* the audit log: one hash chain per collector node (audit/audit_pg.h), append-only */
    "CREATE TABLE op_audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  node text NOT NULL, seq bigint NOT NULL, at_ms bigint NOT NULL, actor text NOT NULL,"
    "  source text NOT NULL, action text NOT NULL, target text NOT NULL,"
    "  outcome text NOT NULL, detail text NOT NULL, prev bytea NOT NULL, hash bytea NOT NULL,"
    "  UNIQUE (node, seq));"
    "CREATE FUNCTION ward_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$ "
    "BEGIN RAISE EXCEPTION 'audit entries are append-only'; END $f$;"
    "CREATE TRIGGER op_audit_append_only BEFORE UPDATE OR DELETE ON op_audit "
    "  FOR EACH ROW EXECUTE FUNCTION ward_audit_append_only();"
    /* device revocations and enrolment tokens of the API (devices/devices_pg.h) */
    "CREATE TABLE op_device_revocations (device text PRIMARY KEY,"
    "  revoked_at_ms bigint NOT NULL, removed boolean NOT NULL, actor text NOT NULL,"
    "  reason text NOT NULL);"
    "CREATE TABLE op_enrol_tokens (sha256 text PRIMARY KEY, device text NOT NULL,"
    "  expires_ms bigint NOT NULL, created_by text NOT NULL, used_ms bigint NOT NULL DEFAULT 0);";

/*
 * Migration 6: the incremental fleet sync (docs/storage.md, "The fleet sync"). Every write of
 * a device's row, whoever makes it (ward_put_report(), the state changes, an operator's SQL),
 * stamps the row with the writing transaction's id (change_xid, 64 bits, never wraps) and a
 * sequence number (change_seq, the order within one transaction): a collector reads only the
 * rows stamped at or after the oldest transaction that was still running at its previous
 * read (pg_sync_devices() in this file says why that is exact). The rows of an older schema
 * keep (0, 0): the first, full, read takes them. The constant default adds the columns
 * without rewriting the table; the trigger is made before the index so that no write goes
 * unstamped.
 */
static const char s_schema_v6[] =
    "CREATE SEQUENCE IF NOT EXISTS devices_change_seq;"
    "ALTER TABLE devices ADD COLUMN IF NOT EXISTS change_xid xid8 NOT NULL DEFAULT '0',"
    "  ADD COLUMN IF NOT EXISTS change_seq bigint NOT NULL DEFAULT 0;"
    "CREATE OR REPLACE FUNCTION ward_device_changed() RETURNS trigger LANGUAGE plpgsql AS $f$ "
    "BEGIN "
    "  NEW.change_xid := pg_current_xact_id();"
    "  NEW.change_seq := nextval('devices_change_seq');"
    "  RETURN NEW; "
    "END $f$;"
    "DROP TRIGGER IF EXISTS devices_changed ON devices;"
    "CREATE TRIGGER devices_changed BEFORE INSERT OR UPDATE ON devices "
    "  FOR EACH ROW EXECUTE FUNCTION ward_device_changed();"
    "CREATE INDEX IF NOT EXISTS devices_by_change ON devices (change_xid, change_seq);"
    /* The events' count (stats.events) without count(*) over every partition: each statement
     * that inserts or deletes events appends its count to event_counts (a row per statement,
     * so concurrent transactions never wait on one counter row), a dropped day partition
     * appends minus its events, and now and then (1 % of the statements) the rows that no
     * other transaction holds are folded into one. The count is their sum. The triggers come
     * first: they lock events until this migration commits, so the first count is exact. */
    "CREATE TABLE IF NOT EXISTS event_counts (n bigint NOT NULL);"
    "CREATE OR REPLACE FUNCTION ward_event_counts_fold() RETURNS void LANGUAGE sql AS $f$ "
    "  WITH d AS (DELETE FROM event_counts WHERE ctid = ANY (ARRAY(SELECT ctid FROM "
    "    event_counts FOR UPDATE SKIP LOCKED)) RETURNING n) "
    "  INSERT INTO event_counts (n) SELECT sum(n) FROM d HAVING count(*) > 0 $f$;"
    "CREATE OR REPLACE FUNCTION ward_events_counted() RETURNS trigger LANGUAGE plpgsql AS $f$ "
    "DECLARE k bigint; "
    "BEGIN "
    "  IF TG_OP = 'INSERT' THEN SELECT count(*) INTO k FROM new_rows;"
    "  ELSE SELECT -count(*) INTO k FROM old_rows; END IF;"
    "  IF k <> 0 THEN INSERT INTO event_counts (n) VALUES (k); END IF;"
    "  IF random() < 0.01 THEN PERFORM ward_event_counts_fold(); END IF;"
    "  RETURN NULL; "
    "END $f$;"
    "DROP TRIGGER IF EXISTS events_counted_ins ON events;"
    "DROP TRIGGER IF EXISTS events_counted_del ON events;"
    "CREATE TRIGGER events_counted_ins AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows "
    "  FOR EACH STATEMENT EXECUTE FUNCTION ward_events_counted();"
    "CREATE TRIGGER events_counted_del AFTER DELETE ON events REFERENCING OLD TABLE AS old_rows "
    "  FOR EACH STATEMENT EXECUTE FUNCTION ward_events_counted();"
    "DELETE FROM event_counts;"
    "INSERT INTO event_counts (n) SELECT count(*) FROM events;"
    /* clang-format off */
    EXPIRE("    INSERT INTO event_counts (n) VALUES (-m);");
/* clang-format on */

/* Incidents with PostgreSQL (incidents/idb.h): the tables of incidents.db, shared by every
 * collector; the engine's cursor starts after the events already stored. */
static const char s_schema_incidents[] =
    "CREATE TABLE IF NOT EXISTS incidents ("
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  device text NOT NULL, component text NOT NULL, state text NOT NULL,"
    "  severity bigint NOT NULL, opened_ms bigint NOT NULL, acked_ms bigint NOT NULL,"
    "  resolved_ms bigint NOT NULL, closed_ms bigint NOT NULL, first_event_ms bigint NOT NULL,"
    "  healthy_since_ms bigint NOT NULL, healthy_t_ms bigint NOT NULL,"
    "  last_bad_t_ms bigint NOT NULL, last_boot text NOT NULL, last_state text NOT NULL,"
    "  events bigint NOT NULL, flap_start_ms bigint NOT NULL, transitions bigint NOT NULL,"
    "  flapping bigint NOT NULL, parent bigint NOT NULL, is_parent bigint NOT NULL,"
    "  escalated bigint NOT NULL, resend_ms bigint NOT NULL, reopened bigint NOT NULL,"
    "  assignee text NOT NULL, commander text NOT NULL, runbook text NOT NULL,"
    "  cause text, followup text, drill bigint NOT NULL DEFAULT 0,"
    "  drill_id bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS incidents_problem ON incidents (device, component, id);"
    "CREATE INDEX IF NOT EXISTS incidents_by_state ON incidents (state, id);"
    "CREATE INDEX IF NOT EXISTS incidents_by_drill ON incidents (drill_id) WHERE drill_id > 0;"
    "CREATE TABLE IF NOT EXISTS incident_timeline ("
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, incident bigint NOT NULL,"
    "  at_ms bigint NOT NULL, who text NOT NULL, what text NOT NULL, detail text,"
    "  event_id bigint);"
    "CREATE INDEX IF NOT EXISTS timeline_by_incident ON incident_timeline (incident, id);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, incident bigint NOT NULL,"
    "  receiver text NOT NULL, kind text NOT NULL, key text NOT NULL, body text NOT NULL,"
    "  state text NOT NULL, created_ms bigint NOT NULL, next_ms bigint NOT NULL,"
    "  attempts bigint NOT NULL, delivered_ms bigint, last_error text,"
    "  UNIQUE (key, receiver));"
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (state, receiver, incident, id);"
    "CREATE INDEX IF NOT EXISTS outbox_by_incident ON outbox (incident, id);"
    "CREATE INDEX IF NOT EXISTS outbox_delivered ON outbox (delivered_ms) "
    "  WHERE state = 'delivered';"
    "CREATE TABLE IF NOT EXISTS silences ("
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, pattern text NOT NULL,"
    "  created_ms bigint NOT NULL, until_ms bigint NOT NULL, who text NOT NULL,"
    "  reason text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS incident_cursor (name text PRIMARY KEY, value bigint NOT NULL);"
    "INSERT INTO incident_cursor (name, value) "
    "  SELECT 'events', coalesce(max(id), 0) FROM events ON CONFLICT DO NOTHING;"
    "CREATE TABLE IF NOT EXISTS drills ("
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, device text NOT NULL,"
    "  scenario text NOT NULL, for_s bigint NOT NULL, state text NOT NULL, reason text,"
    "  who text NOT NULL, created_ms bigint NOT NULL, started_ms bigint NOT NULL DEFAULT 0,"
    "  ended_ms bigint NOT NULL DEFAULT 0, stopped_by text);"
    "CREATE INDEX IF NOT EXISTS drills_by_device ON drills (device, id);";

/* The inventory (inventory/invdb.h): inventory.db's tables, and the order of each device's
 * last compared full heartbeat (its boot, seq and wall clock: inventory/model.c). */
static const char s_schema_inventory[] =
    "CREATE TABLE IF NOT EXISTS inventory (device text NOT NULL, item text NOT NULL,"
    "  value text NOT NULL, since_ms bigint NOT NULL, PRIMARY KEY (device, item));"
    "CREATE TABLE IF NOT EXISTS changes ("
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, device text NOT NULL,"
    "  at_ms bigint NOT NULL, item text NOT NULL, kind text NOT NULL, old text, new text,"
    "  \"window\" bigint, unplanned bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS changes_by_device ON changes (device, id);"
    "CREATE INDEX IF NOT EXISTS changes_by_window ON changes (\"window\") WHERE \"window\" > 0;"
    "CREATE TABLE IF NOT EXISTS change_windows ("
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, title text NOT NULL,"
    "  devices text NOT NULL, opened_ms bigint NOT NULL, until_ms bigint NOT NULL,"
    "  closed_ms bigint, opened_by text NOT NULL, closed_by text);"
    "CREATE TABLE IF NOT EXISTS outdated_raised (device text PRIMARY KEY,"
    "  version text NOT NULL, incident bigint NOT NULL, since_ms bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS removed_devices (device text PRIMARY KEY,"
    "  at_ms bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS inventory_order (device text PRIMARY KEY, boot text NOT NULL,"
    "  seq bigint NOT NULL, wall_ms bigint NOT NULL, at_ms bigint NOT NULL);";
/* Sensor history shared by every collector (history/hstore_pg.c): series, buckets keyed by
 * their start and partitioned by tier then by time (retention drops whole partitions),
 * learnt thresholds and the forecasts' side of the horizon. */
static const char s_schema_history[] =
    "CREATE TABLE history_series (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  device text NOT NULL, sensor text NOT NULL, unit text NOT NULL,"
    "  last_ms bigint NOT NULL DEFAULT 0, UNIQUE (device, sensor));"
    "CREATE INDEX history_series_last ON history_series (last_ms);"
    "CREATE TABLE history_buckets (series bigint NOT NULL, tier smallint NOT NULL,"
    "  t bigint NOT NULL, mn bigint NOT NULL, mx bigint NOT NULL, sum bigint NOT NULL,"
    "  cnt bigint NOT NULL, PRIMARY KEY (series, tier, t)) PARTITION BY LIST (tier);"
    "CREATE TABLE history_b0 PARTITION OF history_buckets FOR VALUES IN (0)"
    "  PARTITION BY RANGE (t);"
    "CREATE TABLE history_b1 PARTITION OF history_buckets FOR VALUES IN (1)"
    "  PARTITION BY RANGE (t);"
    "CREATE TABLE history_b2 PARTITION OF history_buckets FOR VALUES IN (2)"
    "  PARTITION BY RANGE (t);"
    "CREATE TABLE history_thresholds (device text NOT NULL, sensor text NOT NULL,"
    "  value bigint NOT NULL, PRIMARY KEY (device, sensor));"
    "CREATE TABLE history_forecasts (device text NOT NULL, sensor text NOT NULL,"
    "  within integer NOT NULL, PRIMARY KEY (device, sensor));"
    /* The partitions of one tier from now - keep to two widths ahead, and those wholly older
     * than now - keep - width dropped (one width of slack: a collector whose clock is a little
     * behind never writes into a partition another just dropped). */
    "CREATE FUNCTION ward_history_partitions(p_tier integer, p_width bigint, p_keep bigint,"
    "  p_now bigint) RETURNS void LANGUAGE plpgsql AS $f$ "
    "DECLARE k bigint; r record; "
    "BEGIN "
    "  PERFORM pg_advisory_xact_lock(2003923559);"
    "  FOR k IN greatest(p_now - p_keep, 0) / p_width .. p_now / p_width + 2 LOOP"
    "    CONTINUE WHEN to_regclass(format('history_b%s_%s', p_tier, k)) IS NOT NULL;"
    "    EXECUTE format('CREATE TABLE history_b%s_%s PARTITION OF history_b%s "
    "      FOR VALUES FROM (%s) TO (%s)', p_tier, k, p_tier, k * p_width, (k + 1) * p_width);"
    "  END LOOP;"
    "  FOR r IN SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    "    WHERE i.inhparent = format('history_b%s', p_tier)::regclass LOOP"
    "    IF (substring(r.name FROM '_([0-9]+)$')::bigint + 1) * p_width"
    "       <= p_now - p_keep - p_width THEN"
    "      EXECUTE format('DROP TABLE %I', r.name);"
    "    END IF;"
    "  END LOOP; "
    "END $f$;";
/* The dashboard's logins, shared (dash/session_pg.h): the hash of the cookie's id, the CSRF
 * token and credential sealed with a key only the cookie gives. */
static const char s_schema_dash_sessions[] =
    "CREATE TABLE IF NOT EXISTS op_dash_sessions (sha256 bytea PRIMARY KEY,"
    "  user_name text NOT NULL, sealed bytea NOT NULL, created_ms bigint NOT NULL,"
    "  used_ms bigint NOT NULL);";

/*
 * Migration 11: retention by whole days, and the events' count per day (docs/storage.md, "Time
 * partitions and retention"). event_counts gets the day of received_ms its rows count, so
 * that a dropped day's events are subtracted from the count without a count(*) over the
 * partition (a scan of a whole day's events, 24 M rows at a million devices, on the leader's
 * loop). ward_expire(cutoff, max, rows) deletes one by one only when rows is true (a
 * retention shorter than a day, as SQLite) or in events_default (a clock gone back);
 * otherwise it only drops the day partitions wholly before the cutoff. The fold and the drop
 * exclude each other with a transaction lock (the fold skips a round rather than wait): a
 * fold that moved a day's rows while the drop was deleting them would leave the day counted.
 * The events are locked against writes (SHARE) while they are counted again by day, so that
 * no collector still on the old trigger appends a count without its day meanwhile.
 */
/* clang-format off */
static const char s_schema_expire_days[] =
    "LOCK TABLE events IN SHARE MODE;"
    "ALTER TABLE event_counts ADD COLUMN IF NOT EXISTS day bigint;"
    /* the identities' bound reads the oldest row of events_default (normally none) */
    "CREATE INDEX IF NOT EXISTS events_default_received ON events_default (received_ms);"
    "CREATE OR REPLACE FUNCTION ward_event_counts_fold() RETURNS void LANGUAGE plpgsql AS $f$ "
    "BEGIN "
    "  IF NOT pg_try_advisory_xact_lock(2003923560) THEN RETURN; END IF;"
    "  WITH d AS (DELETE FROM event_counts WHERE ctid = ANY (ARRAY(SELECT ctid FROM "
    "    event_counts FOR UPDATE SKIP LOCKED)) RETURNING day, n) "
    "  INSERT INTO event_counts (day, n) SELECT day, sum(n) FROM d GROUP BY day "
    "    HAVING sum(n) <> 0; "
    "END $f$;"
    "CREATE OR REPLACE FUNCTION ward_events_counted() RETURNS trigger LANGUAGE plpgsql AS $f$ "
    "BEGIN "
    "  IF TG_OP = 'INSERT' THEN"
    "    INSERT INTO event_counts (day, n) SELECT received_ms / 86400000, count(*) "
    "      FROM new_rows GROUP BY 1;"
    "  ELSE"
    "    INSERT INTO event_counts (day, n) SELECT received_ms / 86400000, -count(*) "
    "      FROM old_rows GROUP BY 1;"
    "  END IF;"
    "  IF random() < 0.01 THEN PERFORM ward_event_counts_fold(); END IF;"
    "  RETURN NULL; "
    "END $f$;"
    "DELETE FROM event_counts;"
    "INSERT INTO event_counts (day, n) SELECT received_ms / 86400000, count(*) FROM events "
    "  GROUP BY 1;"
    "CREATE OR REPLACE FUNCTION ward_expire(p_cutoff bigint, p_max integer, p_rows boolean, "
    "  OUT dropped bigint, OUT deleted bigint, OUT keys bigint) LANGUAGE plpgsql AS $f$ "
    "DECLARE r record; v_m bigint; v_cut bigint; "
    "BEGIN "
    "  dropped := 0;"
    "  FOR r IN SELECT c.relname AS name, substr(c.relname, 9)::bigint AS day "
    "    FROM pg_inherits AS i JOIN pg_class AS c "
    "    ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass "
    "    AND c.relname ~ '^events_d[0-9]+$' "
    "    AND (substr(c.relname, 9)::bigint + 1) * 86400000 <= p_cutoff LOOP"
    /* the lock first (a fold in flight ends, later ones skip: a fold never waits for it,
     * so no deadlock), then DROP, which waits for the transactions writing into the day */
    "    PERFORM pg_advisory_xact_lock(2003923560);"
    "    EXECUTE format('DROP TABLE %I', r.name);"
    "    WITH d AS (DELETE FROM event_counts WHERE day = r.day RETURNING n) "
    "      SELECT coalesce(sum(d.n), 0) INTO v_m FROM d;"
    "    dropped := dropped + v_m;"
    "  END LOOP;"
    "  IF p_rows THEN"
    "    DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT p_max) "
    "      AND received_ms < p_cutoff;"
    "    GET DIAGNOSTICS deleted = ROW_COUNT;"
    "    v_cut := p_cutoff;"
    "  ELSE"
    /* ids are unique over the partitions: each partition's primary key finds them */
    "    DELETE FROM events WHERE received_ms < p_cutoff AND id = ANY (ARRAY(SELECT id "
    "      FROM events_default WHERE received_ms < p_cutoff ORDER BY id LIMIT p_max));"
    "    GET DIAGNOSTICS deleted = ROW_COUNT;"
    /* an identity goes with its event, never before: by whole days, with the days dropped,
     * and not before the oldest event still in events_default */
    "    v_cut := least(p_cutoff / 86400000 * 86400000, "
    "      coalesce((SELECT min(received_ms) FROM events_default), p_cutoff));"
    "  END IF;"
    "  DELETE FROM event_keys WHERE ctid = ANY (ARRAY(SELECT ctid FROM event_keys "
    "    WHERE received_ms < v_cut LIMIT p_max));"
    "  GET DIAGNOSTICS keys = ROW_COUNT; "
    "END $f$;"
    /* what a collector of schema 10 calls during a rolling upgrade: its row-by-row retention */
    "CREATE OR REPLACE FUNCTION ward_expire(p_cutoff bigint, p_max integer) "
    "  RETURNS bigint LANGUAGE sql AS $f$ "
    "  SELECT dropped + deleted FROM ward_expire(p_cutoff, p_max, true) $f$;";
/* clang-format on */

/*
 * Migration 12: the devices' count (stats.devices, on every GET /v1/health and /metrics) without
 * count(*) over devices, a scan of the whole fleet's rows (0.9 GB at a million devices) on the
 * event loop of every collector at every scrape. As event_counts: statement triggers append
 * each insert's and delete's count, 1 % of them fold what no other transaction holds. Devices
 * are locked against writes while they are counted once.
 */
static const char s_schema_device_counts[] =
    "LOCK TABLE devices IN SHARE MODE;"
    "CREATE TABLE IF NOT EXISTS device_counts (n bigint NOT NULL);"
    "CREATE OR REPLACE FUNCTION ward_device_counts_fold() RETURNS void LANGUAGE sql AS $f$ "
    "  WITH d AS (DELETE FROM device_counts WHERE ctid = ANY (ARRAY(SELECT ctid FROM "
    "    device_counts FOR UPDATE SKIP LOCKED)) RETURNING n) "
    "  INSERT INTO device_counts (n) SELECT sum(n) FROM d HAVING count(*) > 0 $f$;"
    "CREATE OR REPLACE FUNCTION ward_devices_counted() RETURNS trigger LANGUAGE plpgsql AS $f$ "
    "BEGIN "
    "  IF TG_OP = 'INSERT' THEN"
    "    INSERT INTO device_counts (n) SELECT count(*) FROM new_rows HAVING count(*) > 0;"
    "  ELSE"
    "    INSERT INTO device_counts (n) SELECT -count(*) FROM old_rows HAVING count(*) > 0;"
    "  END IF;"
    "  IF random() < 0.01 THEN PERFORM ward_device_counts_fold(); END IF;"
    "  RETURN NULL; "
    "END $f$;"
    "DROP TRIGGER IF EXISTS devices_counted_ins ON devices;"
    "DROP TRIGGER IF EXISTS devices_counted_del ON devices;"
    "CREATE TRIGGER devices_counted_ins AFTER INSERT ON devices REFERENCING NEW TABLE AS new_rows "
    "  FOR EACH STATEMENT EXECUTE FUNCTION ward_devices_counted();"
    "CREATE TRIGGER devices_counted_del AFTER DELETE ON devices REFERENCING OLD TABLE AS old_rows "
    "  FOR EACH STATEMENT EXECUTE FUNCTION ward_devices_counted();"
    "DELETE FROM device_counts;"
    "INSERT INTO device_counts (n) SELECT count(*) FROM devices;";

static const char *const s_migrations[] = {
    s_schema_v1,        /* 1: schema_version, devices, events, snapshot sensors, ward_put_report */
    s_schema_v2,        /* 2: ticket_keys; ward_event_partitions() under a lock */
    s_schema_v3,        /* 3: ward_put_report: delta pages keep places and thresholds; events */
    s_schema_v4,        /* 4: ward_put_report: a compact heartbeat without health keeps it */
    s_schema_v5,        /* 5: accounts, sessions, API tokens, audit, revocations */
    s_schema_v6,        /* 6: devices stamped for the incremental fleet sync; event_counts */
    s_schema_incidents, /* 7: incidents, timeline, outbox, silences, cursor, drills */
    s_schema_inventory, /* 8: inventory, changes, change windows, outdated, their order */
    s_schema_history,   /* 9: sensor history: series, partitioned buckets, forecasts */
    s_schema_dash_sessions, /* 10: the dashboard's logins */
    s_schema_expire_days,   /* 11: retention by whole days; the events' count per day */
    s_schema_device_counts, /* 12: the devices' count without count(*) */
};

#define SCHEMA_VERSION ((int)(sizeof(s_migrations) / sizeof(s_migrations[0])))

/* ---- connection ---- */

/* libpq's messages span lines: one line for the log. */
static const char *one_line(const char *msg, char *buf, size_t cap)
{
    size_t o = 0;

    for (const char *p = msg; p != NULL && *p != '\0' && o + 1 < cap; p++) {
        if (*p == '\n') {
            if (p[1] != '\0' && o + 3 < cap) {
                buf[o++] = ';';
                buf[o++] = ' ';
            }
        } else if (*p != '\r') {
            buf[o++] = *p == '\t' ? ' ' : *p;
        }
    }
    while (o > 0 && buf[o - 1] == ' ') {
        o--;
    }
    buf[o] = '\0';
    return buf;
}

static int fail_msg(struct pg *q, const char *what, const char *msg)
{
    char line[512];

    wcol_log_error("storage: %s failed on PostgreSQL %s: %s", what, q->where,
                   one_line(msg, line, sizeof(line)));
    wcol_pglink_query_failed(&q->link, wcol_now_mono());
    return -EIO;
}

static int fail_conn(struct pg *q, const char *what)
{
    return fail_msg(q, what, PQerrorMessage(q->c));
}

static int fail_res(struct pg *q, const char *what, const PGresult *r)
{
    const char *m = r != NULL ? PQresultErrorMessage(r) : NULL;

    return fail_msg(q, what, m != NULL && m[0] != '\0' ? m : PQerrorMessage(q->c));
}

/* Run SQL that returns no rows (or rows nobody reads). */
static int exec(struct pg *q, const char *sql, const char *what)
{
    PGresult *r = PQexec(q->c, sql);
    ExecStatusType s = PQresultStatus(r);
    int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : fail_res(q, what, r);

    PQclear(r);
    return rc;
}

/* A query of one integer (NULL reads as 0). */
static int query_int(struct pg *q, const char *sql, int64_t *out)
{
    PGresult *r = PQexec(q->c, sql);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? 0 : fail_res(q, sql, r);

    *out = rc == 0 && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return rc;
}

#define DEVICE_COLS                                                                                \
    "id, state, first_seen_ms, last_seen_ms, coalesce(last_heartbeat_ms, 0), "                     \
    "coalesce(interval_ms, 0), boot_id, health"
#define EVENT_COLS                                                                                 \
    "id, device, boot_id, seq, received_ms, coalesce(time_ms, 0), sensor, from_state, to_state, "  \
    "severity, severity_rank, doc"
#define SNAPSHOT_READ                                                                              \
    "CASE WHEN snapshot IS NULL OR NOT snapshot ? 'sensors' THEN snapshot::text "                  \
    "ELSE jsonb_set(snapshot, '{sensors}', coalesce((SELECT jsonb_agg(m.doc::jsonb ORDER BY "      \
    "m.pos, m.gen DESC, m.id) FROM snapshot_sensors AS m WHERE m.device = $1), "                   \
    "'[]'::jsonb))::text END"

static const struct {
    const char *name;
    const char *sql;
} s_statements[] = {
    /* The identity first: the event only when it was new (collector events, seq NULL,
     * have none). */
    { "ins_event",
      "WITH k AS (INSERT INTO event_keys (device, boot_id, seq, received_ms) SELECT $1::text, "
      "$2::text, $3::bigint, $4::bigint WHERE $3::bigint IS NOT NULL ON CONFLICT DO NOTHING "
      "RETURNING 1) INSERT INTO events (device, boot_id, seq, received_ms, time_ms, sensor, "
      "from_state, to_state, severity, severity_rank, doc) SELECT $1::text, $2::text, "
      "$3::bigint, $4::bigint, $5::bigint, $6::text, $7::text, $8::text, $9::text, "
      "$10::integer, $11::text WHERE $3::bigint IS NULL OR EXISTS (SELECT 1 FROM k) "
      "RETURNING id" },
    { "put_report", "SELECT ward_put_report($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, "
                    "$10)" },
    { "max_seq", "SELECT max(seq) FROM event_keys WHERE device = $1 AND boot_id = $2" },
    { "put_state", "UPDATE devices SET state = $2, state_since_ms = $3 WHERE id = $1" },
    { "expire", "SELECT dropped, deleted, keys FROM ward_expire($1, $2, $3)" },
    { "partitions", "SELECT ward_event_partitions($1, 2)" },
    { "load_devices", "SELECT " DEVICE_COLS " FROM devices" },
    /* One page of the fleet sync (pg_sync_devices()), and the snapshot it was read in: a
     * row with NULL columns when the page is empty. The order is the xid8's, on the index (the
     * text of the xid is named apart: ORDER BY an output column's name would sort the text,
     * "1000" before "999", and a page would skip rows). */
    { "sync_devices",
      "SELECT pg_snapshot_xmin(h.s)::text, pg_snapshot_xmax(h.s)::text, d.* FROM "
      "pg_current_snapshot() AS h(s) LEFT JOIN LATERAL (SELECT " DEVICE_COLS ", change_xid::text "
      "AS xid, change_seq AS seq FROM devices WHERE (change_xid, change_seq) > ($1::xid8, "
      "$2::bigint) ORDER BY devices.change_xid, devices.change_seq LIMIT $3) AS d ON true" },
    { "get_device",
      "SELECT " DEVICE_COLS ", heartbeat::text, " SNAPSHOT_READ " FROM devices WHERE id = $1" },
    { "ev00", "SELECT " EVENT_COLS " FROM events WHERE id > $1 AND severity_rank >= $2 "
              "ORDER BY id LIMIT $3" },
    { "ev01", "SELECT " EVENT_COLS " FROM events WHERE id > $1 AND severity_rank >= $2 "
              "ORDER BY id DESC LIMIT $3" },
    { "ev10", "SELECT " EVENT_COLS " FROM events WHERE device = $4 AND id > $1 AND "
              "severity_rank >= $2 ORDER BY id LIMIT $3" },
    { "ev11", "SELECT " EVENT_COLS " FROM events WHERE device = $4 AND id > $1 AND "
              "severity_rank >= $2 ORDER BY id DESC LIMIT $3" },
    { "stats", "SELECT (SELECT coalesce(sum(n), 0) FROM event_counts), "
               "(SELECT coalesce(sum(n), 0) FROM device_counts), "
               "pg_database_size(current_database())" },
};

static int prepare_all(struct pg *q)
{
    for (size_t i = 0; i < sizeof(s_statements) / sizeof(s_statements[0]); i++) {
        /* The documents are text sent in binary format: their type said, not inferred. */
        static const Oid report_types[10] = { [6] = TEXTOID, [7] = TEXTOID };
        static const Oid event_types[11] = { [10] = TEXTOID };
        const char *name = s_statements[i].name;
        bool rep = strcmp(name, "put_report") == 0, ev = strcmp(name, "ins_event") == 0;
        PGresult *r = PQprepare(q->c, name, s_statements[i].sql,
                                rep  ? 10
                                : ev ? 11
                                     : 0,
                                rep  ? report_types
                                : ev ? event_types
                                     : NULL);
        int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : fail_res(q, "prepare", r);

        PQclear(r);
        if (rc != 0) {
            return rc;
        }
    }
    q->prepared = true;
    wcol_pglink_statements(&q->link, (unsigned)(sizeof(s_statements) / sizeof(s_statements[0])), 0);
    return 0;
}

/*
 * The connection, usable: after a loss, reconnected in the background (pglink.c) and its
 * statements prepared again. @return 0; -EIO not connected now (nothing waited), or failed.
 */
static int ensure(struct pg *q)
{
    int rc = wcol_pglink_ready(&q->link, wcol_now_mono());

    if (rc < 0) {
        q->prepared = false;
        return -EIO;
    }
    if (rc == 1) {
        q->prepared = false;
        q->conn_gen++;
        (void)PQexitPipelineMode(q->c); /* off on a fresh connection; made sure */
        /* With several hosts in the conninfo this may be another server (a promoted standby). */
        snprintf(q->where, sizeof(q->where), "database %s on %s", PQdb(q->c), PQhost(q->c));
    }
    return q->prepared ? 0 : prepare_all(q);
}

/* ---- a batch as a list of statements ---- */

enum step_kind { K_BEGIN, K_EVENT, K_REPORT, K_ACK, K_STATE, K_CHANGE_EVENT, K_COMMIT };

#define MAX_PARAMS 11

struct step {
    enum step_kind kind;
    unsigned put, idx; /* which request, which of its events or acks */
    const char *stmt;
    int n;
    const char *v[MAX_PARAMS];
    int len[MAX_PARAMS];
    int fmt[MAX_PARAMS]; /* 1: binary (text of a given length, not NUL-terminated) */
    char num[6][24];     /* the integers' text */
    int nnum;
    signed char slot[MAX_PARAMS]; /* which num[] a value is, -1 none (see fix_params) */
};

struct plan {
    struct step *s;
    unsigned n, cap;
};

static struct step *add(struct plan *p, enum step_kind kind, unsigned put, unsigned idx,
                        const char *stmt)
{
    if (p->n == p->cap) {
        unsigned cap = p->cap ? p->cap * 2 : 64;
        struct step *s = realloc(p->s, cap * sizeof(*s));

        if (s == NULL) {
            return NULL;
        }
        p->s = s;
        p->cap = cap;
    }
    struct step *s = &p->s[p->n++];

    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->put = put;
    s->idx = idx;
    s->stmt = stmt;
    return s;
}

/* Text of a given length, sent in binary format: libpq reads a text-format value to its NUL,
 * and documents point into the request's body. */
static void param(struct step *s, const char *v, size_t len)
{
    s->v[s->n] = v;
    s->len[s->n] = (int)len;
    s->fmt[s->n] = v != NULL;
    s->slot[s->n] = -1;
    s->n++;
}

static void param_str(struct step *s, const char *v)
{
    s->v[s->n] = v;
    s->len[s->n] = 0;
    s->fmt[s->n] = 0;
    s->slot[s->n] = -1;
    s->n++;
}

/* An integer, or NULL. */
static void param_int(struct step *s, int64_t v, bool is_null)
{
    if (is_null || s->nnum >= 6) {
        param(s, NULL, 0);
        return;
    }
    char *b = s->num[s->nnum++];

    snprintf(b, sizeof(s->num[0]), "%" PRId64, v);
    param_str(s, b);
    s->slot[s->n - 1] = (signed char)(s->nnum - 1);
}

/* The integers' pointers into their own step, set once the plan stops growing (a realloc
 * of the plan moves the steps). */
static void fix_params(struct plan *p)
{
    for (unsigned i = 0; i < p->n; i++) {
        struct step *s = &p->s[i];

        for (int j = 0; j < s->n; j++) {
            if (s->slot[j] >= 0) {
                s->v[j] = s->num[s->slot[j]];
            }
        }
    }
}

static struct step *add_event(struct plan *p, enum step_kind kind, unsigned put, unsigned idx,
                              const struct wcol_store_event *ev)
{
    struct step *s = add(p, kind, put, idx, "ins_event");

    if (s == NULL) {
        return NULL;
    }
    param_str(s, ev->device);
    param_str(s, ev->boot_id != NULL ? ev->boot_id : "");
    param_int(s, ev->seq, ev->seq < 0);
    param_int(s, ev->received_ms, false);
    param_int(s, ev->time_ms, ev->time_ms <= 0);
    param_str(s, ev->sensor);
    param_str(s, ev->from_state);
    param_str(s, ev->to_state);
    param_str(s, ev->severity != NULL ? ev->severity : "none");
    param_int(s, ev->severity_rank, false);
    param(s, ev->doc, ev->doc_len);
    return s;
}

static int plan_put(struct pg *q, struct plan *p, const struct wcol_store_put *put, unsigned i)
{
    for (unsigned e = 0; e < put->n_events; e++) {
        if (add_event(p, K_EVENT, i, e, &put->events[e]) == NULL) {
            return -ENOMEM;
        }
    }
    const struct wcol_store_report *r = put->report;

    if (r != NULL) {
        struct step *s = add(p, K_REPORT, i, 0, "put_report");

        if (s == NULL) {
            return -ENOMEM;
        }
        param_str(s, r->device);
        param_int(s, r->received_ms, false);
        param_int(s, r->received_ms, !r->has_heartbeat);
        param_int(s, r->interval_ms, r->interval_ms <= 0);
        param_str(s, r->boot_id);
        param_str(s, r->health);
        param(s, r->heartbeat, r->heartbeat_len);
        param(s, r->snapshot, r->snapshot_len);
        param_str(s, r->peer);
        param_int(s, q->max_sensors, false);
    }
    for (unsigned a = 0; a < put->n_acks; a++) {
        struct step *s = add(p, K_ACK, i, a, "max_seq");

        if (s == NULL) {
            return -ENOMEM;
        }
        param_str(s, put->device);
        param_str(s, put->acks[a].boot_id);
    }
    return 0;
}

static int plan_batch(struct pg *q, struct plan *p, const struct wcol_store_batch *b)
{
    int rc = add(p, K_BEGIN, 0, 0, NULL) != NULL ? 0 : -ENOMEM;

    for (unsigned i = 0; rc == 0 && i < b->n_puts; i++) {
        rc = plan_put(q, p, &b->puts[i], i);
    }
    for (unsigned i = 0; rc == 0 && i < b->n_changes; i++) {
        const struct wcol_store_state_change *ch = &b->changes[i];
        struct step *s = add(p, K_STATE, i, 0, "put_state");

        if (s == NULL) {
            return -ENOMEM;
        }
        param_str(s, ch->device);
        param_str(s, ch->state);
        param_int(s, ch->at_ms, false);
        rc = add_event(p, K_CHANGE_EVENT, i, 0, &ch->event) != NULL ? 0 : -ENOMEM;
    }
    return rc ?: (add(p, K_COMMIT, 0, 0, NULL) != NULL ? 0 : -ENOMEM);
}

static int send_step(struct pg *q, const struct step *s)
{
    if (s->stmt == NULL) {
        return PQsendQueryParams(q->c, s->kind == K_BEGIN ? "BEGIN" : "COMMIT", 0, NULL, NULL, NULL,
                                 NULL, 0)
                   ? 0
                   : -EIO;
    }
    return PQsendQueryPrepared(q->c, s->stmt, s->n, s->v, s->len, s->fmt, 0) ? 0 : -EIO;
}

/* What a statement's successful result tells the request. */
static void take_result(struct wcol_store_batch *b, const struct step *s, const PGresult *r)
{
    if (s->kind == K_EVENT) {
        struct wcol_store_put *p = &b->puts[s->put];
        bool ins = PQntuples(r) == 1;

        p->events[s->idx].inserted = ins;
        p->stored += ins;
        p->duplicates += !ins;
    } else if (s->kind == K_ACK) {
        struct wcol_store_ack *a = &b->puts[s->put].acks[s->idx];

        a->seq = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                                                            : -1;
    }
}

static bool result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);

    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static void reset_counts(struct wcol_store_batch *b)
{
    for (unsigned i = 0; i < b->n_puts; i++) {
        b->puts[i].status = 0;
        b->puts[i].stored = b->puts[i].duplicates = 0;
    }
}

/*
 * The whole plan in one pipeline and one round trip. @return 0 committed; 1 a statement
 * failed (nothing stored, the connection usable, its transaction rolled back); -EIO.
 */
static int run_pipelined(struct pg *q, const struct plan *p, struct wcol_store_batch *b)
{
    int rc = PQenterPipelineMode(q->c) ? 0 : fail_conn(q, "pipeline");
    bool failed = false;

    for (unsigned i = 0; rc == 0 && i < p->n; i++) {
        rc = send_step(q, &p->s[i]);
    }
    if (rc == 0 && !PQpipelineSync(q->c)) {
        rc = -EIO;
    }
    if (rc != 0) {
        fail_conn(q, "send batch");
        PQexitPipelineMode(q->c);
        return -EIO;
    }
    reset_counts(b);
    for (unsigned i = 0; i < p->n; i++) {
        PGresult *r = PQgetResult(q->c);

        if (r == NULL) {
            return fail_conn(q, "batch");
        }
        if (result_ok(r)) {
            if (!failed) {
                take_result(b, &p->s[i], r);
            }
        } else if (PQresultStatus(r) != PGRES_PIPELINE_ABORTED) {
            if (PQstatus(q->c) != CONNECTION_OK) {
                fail_res(q, "batch", r);
                PQclear(r);
                return -EIO;
            }
            failed = true;
        } else {
            failed = true;
        }
        PQclear(r);
        PQclear(PQgetResult(q->c)); /* the NULL that ends each statement's results */
    }
    PGresult *sync = PQgetResult(q->c);
    bool synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC;

    PQclear(sync);
    if (!synced || !PQexitPipelineMode(q->c)) {
        return fail_conn(q, "batch sync");
    }
    if (failed) {
        return exec(q, "ROLLBACK", "ROLLBACK") == 0 ? 1 : -EIO;
    }
    return 0;
}

static int exec_step(struct pg *q, const struct step *s, struct wcol_store_batch *b)
{
    PGresult *r;

    if (s->stmt == NULL) {
        r = PQexec(q->c, s->kind == K_BEGIN ? "BEGIN" : "COMMIT");
    } else {
        r = PQexecPrepared(q->c, s->stmt, s->n, s->v, s->len, s->fmt, 0);
    }
    int rc = 0;

    if (result_ok(r)) {
        take_result(b, s, r);
    } else {
        const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);

        if (code != NULL && strcmp(code, "WS001") == 0) {
            q->snapshots_refused++;
            rc = -E2BIG;
        } else {
            rc = fail_res(q, s->stmt != NULL ? s->stmt : "COMMIT", r);
        }
    }
    PQclear(r);
    return rc;
}

/* One statement at a time, a savepoint around each request: the slow path after a failure. */
static int run_stepwise(struct pg *q, const struct plan *p, struct wcol_store_batch *b)
{
    int rc = 0;
    unsigned i = 0;

    reset_counts(b);
    while (rc == 0 && i < p->n) {
        const struct step *s = &p->s[i];

        if (s->kind != K_EVENT && s->kind != K_REPORT && s->kind != K_ACK) {
            rc = exec_step(q, s, b);
            i++;
            continue;
        }
        unsigned put = s->put, j = i;
        int prc = exec(q, "SAVEPOINT req", "SAVEPOINT");

        if (prc != 0) {
            return -EIO;
        }
        for (; j < p->n && p->s[j].put == put &&
               (p->s[j].kind == K_EVENT || p->s[j].kind == K_REPORT || p->s[j].kind == K_ACK);
             j++) {
            prc = prc ?: exec_step(q, &p->s[j], b);
        }
        if (prc != 0) {
            b->puts[put].status = prc;
            b->puts[put].stored = b->puts[put].duplicates = 0;
            if (exec(q, "ROLLBACK TO SAVEPOINT req", "ROLLBACK TO") != 0) {
                return -EIO;
            }
        }
        rc = exec(q, "RELEASE SAVEPOINT req", "RELEASE");
        i = j;
    }
    if (rc != 0 && PQstatus(q->c) == CONNECTION_OK) {
        exec(q, "ROLLBACK", "ROLLBACK");
    }
    return rc != 0 ? -EIO : 0;
}

#define DAY_MS 86400000

/* The day partitions of the batch's events and the next two, made before they are needed (a
 * failure is only logged: the default partition takes the rows). Outside the transaction. */
static void partitions_ahead(struct pg *q, const struct wcol_store_batch *b)
{
    int64_t latest = 0;

    for (unsigned i = 0; i < b->n_puts; i++) {
        for (unsigned e = 0; e < b->puts[i].n_events; e++) {
            latest = b->puts[i].events[e].received_ms > latest ? b->puts[i].events[e].received_ms
                                                               : latest;
        }
    }
    for (unsigned i = 0; i < b->n_changes; i++) {
        latest =
            b->changes[i].event.received_ms > latest ? b->changes[i].event.received_ms : latest;
    }
    if (latest == 0 || latest + DAY_MS < q->partitions_until) {
        return;
    }
    char at[24];
    const char *v[1] = { at };

    snprintf(at, sizeof(at), "%" PRId64, latest);
    PGresult *r = PQexecPrepared(q->c, "partitions", 1, v, NULL, NULL, 0);

    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        q->partitions_until = (latest / DAY_MS + 3) * DAY_MS;
    } else {
        char line[512];

        wcol_log_warn("storage: cannot create the event partitions ahead on PostgreSQL %s: %s",
                      q->where, one_line(PQresultErrorMessage(r), line, sizeof(line)));
    }
    PQclear(r);
}

static int pg_commit_batch(void *impl, struct wcol_store_batch *b)
{
    struct pg *q = impl;
    struct plan p = { 0 };
    int rc = ensure(q);

    if (rc == 0) {
        partitions_ahead(q, b);
    }

    rc = rc ?: plan_batch(q, &p, b);
    if (rc == 0) {
        fix_params(&p);
        rc = run_pipelined(q, &p, b);
        if (rc == 1) {
            rc = run_stepwise(q, &p, b);
        }
    }
    free(p.s);
    if (rc != 0) { /* nothing of the batch is stored */
        for (unsigned i = 0; i < b->n_puts; i++) {
            b->puts[i].status = rc;
            b->puts[i].stored = b->puts[i].duplicates = 0;
        }
        if (PQstatus(q->c) == CONNECTION_OK && PQpipelineStatus(q->c) != PQ_PIPELINE_OFF) {
            /* A pipeline left half read: start over on a new connection (the next use). */
            q->prepared = false;
            wcol_pglink_drop(&q->link, wcol_now_mono(), "a batch's pipeline left half read");
        } else if (PQstatus(q->c) == CONNECTION_OK && PQtransactionStatus(q->c) != PQTRANS_IDLE) {
            exec(q, "ROLLBACK", "ROLLBACK");
        }
    }
    return rc;
}

static int pg_expire(void *impl, int64_t cutoff_ms, unsigned max, struct wcol_store_expired *out)
{
    struct pg *q = impl;
    char a[24], m[24];
    const char *v[3] = { a, m, q->whole_days ? "false" : "true" };
    int rc = ensure(q);

    *out = (struct wcol_store_expired){ 0 };
    if (rc != 0) {
        return rc;
    }
    snprintf(a, sizeof(a), "%" PRId64, cutoff_ms);
    snprintf(m, sizeof(m), "%u", max);
    PGresult *r = PQexecPrepared(q->c, "expire", 3, v, NULL, NULL, 0);

    rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == 3
             ? 0
             : fail_res(q, "expire events", r);
    if (rc == 0) {
        uint64_t dropped = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        uint64_t deleted = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
        uint64_t keys = strtoull(PQgetvalue(r, 0, 2), NULL, 10);

        out->events = dropped + deleted;
        out->rows = (unsigned)(deleted + keys); /* at most 2 x max */
    }
    PQclear(r);
    return rc;
}

/* ---- reads ---- */

static const char *val(const PGresult *r, int row, int col, size_t *len)
{
    if (PQgetisnull(r, row, col)) {
        if (len != NULL) {
            *len = 0;
        }
        return NULL;
    }
    if (len != NULL) {
        *len = (size_t)PQgetlength(r, row, col);
    }
    return PQgetvalue(r, row, col);
}

static int64_t ival(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static PGresult *read_prepared(struct pg *q, const char *stmt, int n, const char *const *v)
{
    if (ensure(q) != 0) {
        return NULL;
    }
    PGresult *r = PQexecPrepared(q->c, stmt, n, v, NULL, NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail_res(q, stmt, r);
        PQclear(r);
        return NULL;
    }
    return r;
}

/* DEVICE_COLS from column `at` on. */
static void device_row(const PGresult *r, int i, int at, struct wcol_store_device *d)
{
    memset(d, 0, sizeof(*d));
    d->id = val(r, i, at, NULL);
    d->state = val(r, i, at + 1, NULL);
    d->first_seen_ms = ival(r, i, at + 2);
    d->last_seen_ms = ival(r, i, at + 3);
    d->last_heartbeat_ms = ival(r, i, at + 4);
    d->interval_ms = ival(r, i, at + 5);
    d->boot_id = val(r, i, at + 6, NULL);
    d->health = val(r, i, at + 7, NULL);
}

static int walk_devices(struct pg *q, const char *stmt, const char *id, wcol_store_device_cb cb,
                        void *ctx)
{
    PGresult *r = read_prepared(q, stmt, id != NULL, &id);
    struct wcol_store_device d;

    if (r == NULL) {
        return -EIO;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        device_row(r, i, 0, &d);
        if (id != NULL) {
            d.heartbeat = val(r, i, 8, &d.heartbeat_len);
            d.snapshot = val(r, i, 9, &d.snapshot_len);
        }
        if (cb(ctx, &d) != 0) {
            break;
        }
    }
    PQclear(r);
    return 0;
}

static int pg_load_devices(void *impl, wcol_store_device_cb cb, void *ctx)
{
    return walk_devices(impl, "load_devices", NULL, cb, ctx);
}

static int pg_get_device(void *impl, const char *id, wcol_store_device_cb cb, void *ctx)
{
    return walk_devices(impl, "get_device", id, cb, ctx);
}

/*
 * The fleet sync, incremental (docs/storage.md, "The fleet sync"): the rows stamped at or
 * after the horizon, in stamp order (change_xid, change_seq), a page at a time.
 *
 * Why a transaction id and not a sequence alone: transactions commit in another order than
 * they draw numbers, so a row numbered 100 may become visible after one numbered 101 was
 * read, and a reader that went on from 101 would never see it. A snapshot says which
 * transactions were still running when it was taken: every transaction below the oldest of
 * them (pg_snapshot_xmin) has ended, every one still to commit has an id at or above it. So
 * the next read starts at the xmin of this read's first snapshot: a row stamped below it was
 * visible to every page of this read and was taken when the pages passed its stamp (or a
 * newer version of it was). The price is a re-read of what the transactions from that xmin
 * on wrote: a few group commits' rows. A transaction that stays open after writing (an
 * operator's psql session) holds the horizon back: each read re-reads the changes since it
 * began, more rows (ward_collector_fleet_sync_last_rows shows it), nothing missed.
 *
 * A full read again after a new connection (it may be another server: a promoted standby
 * goes on from the transaction ids in its WAL, and may hand out again ids that the old
 * primary gave to transactions it never replicated) and when the horizon is beyond the
 * server's next transaction id (pg_snapshot_xmax: the counter went back).
 */
static int pg_sync_devices(void *impl, struct wcol_store_sync *s, unsigned max_rows,
                           wcol_store_device_cb cb, void *ctx)
{
    struct pg *q = impl;
    char x[24], n[24], lim[16];
    const char *v[3] = { x, n, lim };
    struct wcol_store_device d;
    int rc = ensure(q);

    s->done = false;
    s->rows = 0;
    if (rc != 0) {
        return rc;
    }
    if (s->conn != q->conn_gen) {
        *s = (struct wcol_store_sync){ .conn = q->conn_gen };
    }
    if (!s->active) {
        s->active = true;
        s->full = s->horizon == 0;
        s->at_xid = s->horizon;
        s->at_seq = -1;
        s->next_horizon = 0;
    }
    snprintf(x, sizeof(x), "%" PRIu64, s->at_xid);
    snprintf(n, sizeof(n), "%" PRId64, s->at_seq);
    snprintf(lim, sizeof(lim), "%u", max_rows > 0 ? max_rows : 1);
    PGresult *r = read_prepared(q, "sync_devices", 3, v);

    if (r == NULL) {
        return -EIO;
    }
    uint64_t xmin = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    uint64_t xmax = strtoull(PQgetvalue(r, 0, 1), NULL, 10);

    if (xmax < s->horizon) {
        wcol_log_warn("storage: PostgreSQL %s is behind the devices already read (transaction "
                      "%" PRIu64 " < %" PRIu64 "): another server; reading every device again",
                      q->where, xmax, s->horizon);
        *s = (struct wcol_store_sync){ .conn = q->conn_gen };
        PQclear(r);
        return 0;
    }
    if (s->next_horizon == 0) {
        s->next_horizon = xmin;
    }
    for (int i = 0; i < PQntuples(r) && !PQgetisnull(r, i, 2); i++) {
        device_row(r, i, 2, &d);
        s->at_xid = strtoull(PQgetvalue(r, i, 10), NULL, 10);
        s->at_seq = ival(r, i, 11);
        s->rows++;
        (void)cb(ctx, &d);
    }
    PQclear(r);
    if (s->rows < max_rows) {
        s->horizon = s->next_horizon;
        s->active = false;
        s->done = true;
    }
    return 0;
}

static int pg_query_events(void *impl, const struct wcol_store_event_query *qq,
                           wcol_store_event_cb cb, void *ctx)
{
    static const char *const names[2][2] = { { "ev00", "ev01" }, { "ev10", "ev11" } };
    struct pg *q = impl;
    char after[24], rank[16], limit[16];
    const char *v[4] = { after, rank, limit, qq->device };
    struct wcol_store_event ev;

    snprintf(after, sizeof(after), "%" PRId64, qq->after_id);
    snprintf(rank, sizeof(rank), "%d", qq->min_rank);
    snprintf(limit, sizeof(limit), "%u", qq->limit);
    PGresult *r = read_prepared(q, names[qq->device != NULL][qq->newest_first],
                                qq->device != NULL ? 4 : 3, v);

    if (r == NULL) {
        return -EIO;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        memset(&ev, 0, sizeof(ev));
        ev.id = ival(r, i, 0);
        ev.device = val(r, i, 1, NULL);
        ev.boot_id = val(r, i, 2, NULL);
        ev.seq = PQgetisnull(r, i, 3) ? -1 : ival(r, i, 3);
        ev.received_ms = ival(r, i, 4);
        ev.time_ms = ival(r, i, 5);
        ev.sensor = val(r, i, 6, NULL);
        ev.from_state = val(r, i, 7, NULL);
        ev.to_state = val(r, i, 8, NULL);
        ev.severity = val(r, i, 9, NULL);
        ev.severity_rank = (int)ival(r, i, 10);
        ev.doc = val(r, i, 11, &ev.doc_len);
        if (cb(ctx, &ev) != 0) {
            break;
        }
    }
    PQclear(r);
    return 0;
}

static int pg_stats(void *impl, struct wcol_store_stats *out)
{
    struct pg *q = impl;
    PGresult *r = read_prepared(q, "stats", 0, NULL);

    *out = q->last_stats; /* while the server is away: what it said last */
    out->snapshots_refused = q->snapshots_refused;
    if (r == NULL) {
        return -EIO;
    }
    if (PQntuples(r) == 1) {
        out->events = ival(r, 0, 0);
        out->devices = ival(r, 0, 1);
        out->db_bytes = ival(r, 0, 2);
    }
    q->last_stats = *out;
    PQclear(r);
    return 0;
}

static void pg_close(void *impl)
{
    struct pg *q = impl;

    if (q != NULL) {
        wcol_pglink_fini(&q->link);
        PQfinish(q->c);
        free(q);
    }
}

static const struct wcol_store_ops s_pg_ops = {
    .name = "postgresql",
    .commit_batch = pg_commit_batch,
    .expire = pg_expire,
    .load_devices = pg_load_devices,
    .sync_devices = pg_sync_devices,
    .get_device = pg_get_device,
    .query_events = pg_query_events,
    .stats = pg_stats,
    .close = pg_close,
};

/* ---- migrations ---- */

static int migrate(struct pg *q)
{
    int64_t has = 0, version = 0;
    char sql[160];
    int rc = exec(q, "SELECT pg_advisory_lock(" PG_LOCK_KEY_STR ")", "migration lock");

    if (rc != 0) {
        return rc;
    }
    rc = query_int(q,
                   "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND "
                   "tablename = 'schema_version'",
                   &has);
    if (rc == 0 && has) {
        rc = query_int(q, "SELECT coalesce(max(version), 0) FROM schema_version", &version);
    }
    if (rc == 0 && version > SCHEMA_VERSION) {
        wcol_log_error("storage: PostgreSQL %s has schema version %" PRId64 ", newer than this "
                       "collector's %d; use a newer ward-collector",
                       q->where, version, SCHEMA_VERSION);
        rc = -EIO;
    }
    for (size_t i = version > 0 ? (size_t)version : 0; rc == 0 && i < (size_t)SCHEMA_VERSION; i++) {
        int v = (int)i + 1;

        rc = exec(q, "BEGIN", "BEGIN");
        rc = rc ?: exec(q, s_migrations[i], "migration");
        snprintf(sql, sizeof(sql),
                 "INSERT INTO schema_version (version, applied_ms) VALUES (%d, "
                 "(extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
                 v);
        rc = rc ?: exec(q, sql, "migration record");
        rc = rc ?: exec(q, "COMMIT", "COMMIT");
        if (rc != 0) {
            exec(q, "ROLLBACK", "ROLLBACK");
        } else if (version > 0) {
            wcol_log_info("storage: PostgreSQL %s migrated to schema version %d", q->where, v);
        }
    }
    exec(q, "SELECT pg_advisory_unlock(" PG_LOCK_KEY_STR ")", "migration unlock");
    return rc;
}

/* The server's notices ("already exists, skipping"): not for the collector's log. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int wcol_store_pg_open(struct wcol_store *store, const struct wcol_store_pg_opts *opts)
{
    struct pg *q = calloc(1, sizeof(*q));
    int rc;

    if (q == NULL) {
        return -ENOMEM;
    }
    snprintf(q->conninfo, sizeof(q->conninfo), "%s", opts->conninfo);
    q->max_sensors = opts->max_sensors > 0 ? opts->max_sensors : WCOL_STORE_MAX_SENSORS;
    q->whole_days = opts->whole_days;
    /* The conninfo's own settings win over the defaults (store/pgconn.h). */
    q->c = wcol_pg_connect(q->conninfo, "ward-collector");
    snprintf(q->where, sizeof(q->where), "(%s)", q->conninfo[0] ? "conninfo" : "defaults");
    if (q->c == NULL) {
        wcol_log_error("storage: cannot connect to PostgreSQL: out of memory");
        free(q);
        return -ENOMEM;
    }
    if (PQstatus(q->c) != CONNECTION_OK) {
        char line[512];

        wcol_log_error("storage: cannot connect to PostgreSQL: %s",
                       one_line(PQerrorMessage(q->c), line, sizeof(line)));
        pg_close(q);
        return -EIO;
    }
    snprintf(q->where, sizeof(q->where), "database %s on %s", PQdb(q->c), PQhost(q->c));
    if (PQserverVersion(q->c) < 140000) {
        wcol_log_error("storage: PostgreSQL %s is version %d; the collector needs 14 or later",
                       q->where, PQserverVersion(q->c) / 10000);
        pg_close(q);
        return -EIO;
    }
    PQsetNoticeProcessor(q->c, on_notice, NULL); /* kept across PQresetStart() */
    rc = wcol_pglink_init(&q->link, q->c, "storage");
    rc = rc ?: migrate(q);
    rc = rc ?: prepare_all(q);
    if (rc != 0) {
        pg_close(q);
        return rc;
    }
    q->conn_gen = 1;
    store->ops = &s_pg_ops;
    store->impl = q;
    return 0;
}
