// DDL of the fired-alert tables (migration 5 in store/schema.ts). Kept here, next to the code that
// reads and writes them; no imports, so the store's schema module can load it without a cycle.
//
// alert_events: one row per notice, written once when it fires.
// alert_deliveries: one row per channel per notice, written when the channel has answered (a
//   webhook may retry for 20 s; the notice is listed before that).
// alert_acks: acknowledgements per incident (fired + updates + resolved share an incident).
// All three are written in small batches and hold one row per notification, not per log.

/** The DDL; fired alerts expire with the logs they point to (--retention-days, from fired_at). */
export const alertTables = (retentionDays: number): readonly string[] => [
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
    silenced UInt8
)
ENGINE = MergeTree
ORDER BY id
TTL fired_at + toIntervalDay(${retentionDays})`,
  `CREATE TABLE IF NOT EXISTS alert_deliveries
(
    event_id String,
    channel_id String,
    type LowCardinality(String),
    ok UInt8,
    error String,
    attempts UInt32,
    ms UInt32
)
ENGINE = MergeTree
ORDER BY event_id`,
  `CREATE TABLE IF NOT EXISTS alert_acks
(
    incident_id String,
    acknowledged_at DateTime64(3, 'UTC'),
    acknowledged_by String
)
ENGINE = ReplacingMergeTree(acknowledged_at)
ORDER BY incident_id`,
];
