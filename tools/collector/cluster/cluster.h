/*
 * Several collectors on one PostgreSQL database (docs/storage.md, "Several collectors"):
 * one of them is the leader, elected with a PostgreSQL advisory lock, and only the leader
 * runs the duties that must run once for the fleet: silence detection, retention and
 * scheduled backups. Every collector reads the devices' last-seen times back from the
 * database (the fleet sync), so that the device list and the leader's silence decisions
 * cover devices that report to the other collectors, and takes the TLS session ticket keys
 * from the database, so that a session resumes on any collector.
 *
 * The lock lives on a connection of its own, held by the leader for as long as it leads:
 * PostgreSQL releases it when that connection ends (the collector died, the database went
 * away), and a collector stops its leader duties the moment it sees the connection fail. The
 * connection is non-blocking: each tick waits for the server at most a few milliseconds and
 * leaves a slow answer for the next tick.
 *
 * With SQLite there is no cluster: wcol_cluster_open() gives NULL and the collector is always
 * the leader.
 */
#ifndef WCOL_CLUSTER_CLUSTER_H_
#define WCOL_CLUSTER_CLUSTER_H_

#include <stdbool.h>
#include <stdint.h>

struct wcol_collector;
struct wcol_cluster;
struct wcol_jw;
struct wcol_prom;

/* The advisory lock keys (any constants, apart from the migrations' 2003923556). */
#define WCOL_CLUSTER_LOCK_CLASS 2003923557
#define WCOL_CLUSTER_LOCK_OBJ   17

/* How often a follower tries the lock, and how long the leader waits before its first
 * silence decision (a fleet sync from the database must have happened in between). */
#define WCOL_CLUSTER_RETRY_MS     2000u
#define WCOL_CLUSTER_GRACE_MS     5000u
#define WCOL_CLUSTER_SYNC_MS      2000u /* fleet and ticket keys read back this often */
#define WCOL_CLUSTER_ANSWER_MS    5000u /* a query unanswered this long: connection dead */
#define WCOL_CLUSTER_WAIT_STEP_MS 20    /* the longest one tick waits for the server */
/* The fleet sync reads this many devices per query and at most this many queries per tick:
 * a full read of a larger fleet goes on over the next ticks. */
#define WCOL_CLUSTER_SYNC_ROWS  5000u
#define WCOL_CLUSTER_SYNC_PAGES 10u

/**
 * Start the cluster membership for a collector on PostgreSQL (conninfo), nothing with SQLite
 * (conninfo NULL: *out = NULL, always leader). Connecting happens in the ticks.
 * @return 0, -ENOMEM.
 */
int wcol_cluster_open(struct wcol_cluster **out, const char *conninfo);

/** Advance the election, the key rotation and the fleet sync; call every check interval. */
void wcol_cluster_tick(struct wcol_collector *c, uint64_t now_mono);

/** This collector runs the fleet-wide duties (true with SQLite). Any thread may ask. */
bool wcol_cluster_is_leader(const struct wcol_cluster *cl);

/** How old the fleet read back from the database may be (0 without a cluster). */
uint64_t wcol_cluster_view_lag_ms(const struct wcol_cluster *cl, uint64_t now_mono);

/** The leader may decide silence now: leader, past the grace period, fleet synced since. */
bool wcol_cluster_may_judge_silence(const struct wcol_cluster *cl, uint64_t now_mono);

/** The "cluster" object of GET /v1/health. */
void wcol_cluster_health(const struct wcol_cluster *cl, struct wcol_jw *w);

/** ward_collector_leader, ward_collector_leader_changes_total, ... for /metrics. */
void wcol_cluster_metrics(const struct wcol_cluster *cl, struct wcol_prom *w);

void wcol_cluster_close(struct wcol_cluster *cl);

#endif /* WCOL_CLUSTER_CLUSTER_H_ */
