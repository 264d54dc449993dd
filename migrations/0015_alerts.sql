-- Alerts: what needs an operator's attention, evaluated from the catalog (and each node's
-- backups/ backlog) on the server's own timer and on every read. One row per alert while it
-- fires and after it resolved (kept for a while as history); acknowledging silences it until
-- an expiry; the optional webhook's delivery state is kept on the row so a failing endpoint
-- is retried with backoff and shown, never blocking a job.
CREATE TABLE alerts (
    -- Stable id: a hash of kind and subject, so the same problem keeps its id across
    -- evaluations (and servers).
    id              TEXT    PRIMARY KEY NOT NULL,
    kind            TEXT    NOT NULL,
    severity        TEXT    NOT NULL CHECK (severity IN ('critical', 'warning')),
    node            TEXT,
    subject         TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    first_seen_at   INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    resolved_at     INTEGER,
    acked_by        TEXT,
    acked_at        INTEGER,
    silenced_until  INTEGER,
    ack_comment     TEXT,
    -- 'none' (no webhook configured when it fired, or silenced), 'pending', 'sent', 'failed'.
    notify_state    TEXT    NOT NULL DEFAULT 'none' CHECK (notify_state IN ('none', 'pending', 'sent', 'failed')),
    notify_attempts INTEGER NOT NULL DEFAULT 0,
    notify_next_at  INTEGER,
    notify_error    TEXT,
    notified_at     INTEGER
) STRICT;
CREATE INDEX alerts_open ON alerts (resolved_at, severity);
CREATE INDEX alerts_notify ON alerts (notify_state, notify_next_at);

-- Restore staging and aside directories each scan found (see node::disk::Leftover).
CREATE TABLE scan_leftovers (
    scan_id     INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    path        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('staging', 'aside')),
    bytes       INTEGER NOT NULL,
    files       INTEGER NOT NULL,
    modified_at INTEGER,
    PRIMARY KEY (scan_id, path)
) STRICT;

-- What clearing a snapshot frees in inodes (links only it has), next to the bytes; measured
-- by each scan like exclusive_hold_bytes.
ALTER TABLE snapshot_tables ADD COLUMN exclusive_hold_inodes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE snapshots ADD COLUMN exclusive_hold_inodes INTEGER NOT NULL DEFAULT 0;
