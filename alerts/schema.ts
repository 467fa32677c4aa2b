// DDL of the fired-alert tables (migration 5 in store/schema.ts). Kept here, next to the code that
// reads and writes them; no imports, so the store's schema module can load it without a cycle.
//
// alert_events: one row per notice. A row is written when the notice fires and written again
// (higher `version`) once its channels have answered; ReplacingMergeTree keeps the newest, and
// reads use FINAL (the table is small: one row per notification, not per log).
// alert_acks: acknowledgements per incident (fired + updates + resolved share an incident), kept
// apart so that an acknowledgement never races the channel-result rewrite of an event row.

export const ALERT_TABLES: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS alert_events
(
    id String,
    incident_id String,
    rule_id String,
    rule_name String,
    group_key String,
    mac String,
    tag String,
    kind LowCardinality(String),
    count UInt64,
    total_count UInt64,
    first_time DateTime64(3, 'UTC'),
    last_time DateTime64(3, 'UTC'),
    fired_at DateTime64(3, 'UTC'),
    log_ids Array(String),
    message String,
    severity Nullable(UInt8),
    silenced UInt8,
    channels String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id`,
  `CREATE TABLE IF NOT EXISTS alert_acks
(
    incident_id String,
    acknowledged_at DateTime64(3, 'UTC'),
    acknowledged_by String
)
ENGINE = ReplacingMergeTree(acknowledged_at)
ORDER BY incident_id`,
];
