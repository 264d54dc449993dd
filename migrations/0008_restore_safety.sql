-- Restore safety: requests can expire (approval past its time) or be cancelled, remember the
-- tables as requested (empty = every table of the snapshot, so a re-plan at approval equals
-- the plan), and who cancelled. Snapshots can be pinned: a pinned snapshot cannot be cleared
-- while its pin holds (a restore's source while the request is open; its safety snapshot for
-- a retention time). SQLite cannot change a CHECK constraint in place, so both restore tables
-- are rebuilt as in 0007.

CREATE TABLE restore_requests_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    node                TEXT    NOT NULL,
    tag                 TEXT    NOT NULL,
    -- JSON array of 'keyspace.table' (the plan's tables).
    tables              TEXT    NOT NULL,
    target              TEXT    NOT NULL CHECK (target IN ('in_place', 'side', 'full_node')),
    side_keyspace       TEXT,
    truncate            INTEGER NOT NULL DEFAULT 0,
    reason              TEXT    NOT NULL,
    requested_by        TEXT    NOT NULL,
    requested_at        INTEGER NOT NULL,
    plan                TEXT    NOT NULL,
    plan_hash           TEXT    NOT NULL,
    state               TEXT    NOT NULL CHECK (state IN ('awaiting_approval', 'approved', 'rejected', 'running', 'interrupted', 'done', 'failed', 'expired', 'cancelled')),
    decided_by          TEXT,
    decided_at          INTEGER,
    decision_comment    TEXT,
    approval_expires_at INTEGER,
    job_id              INTEGER REFERENCES jobs (id),
    started_at          INTEGER,
    finished_at         INTEGER,
    error               TEXT,
    verification        TEXT,
    -- JSON array of the tables as the requester named them; NULL: same as `tables`.
    requested_tables    TEXT,
    cancelled_by        TEXT
) STRICT;
INSERT INTO restore_requests_new
    SELECT id, node, tag, tables, target, side_keyspace, truncate, reason, requested_by, requested_at, plan, plan_hash,
           state, decided_by, decided_at, decision_comment, approval_expires_at, job_id, started_at, finished_at, error,
           verification, NULL, NULL
    FROM restore_requests;

CREATE TABLE restore_steps_new (
    restore_id  INTEGER NOT NULL REFERENCES restore_requests_new (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
    started_at  INTEGER,
    finished_at INTEGER,
    detail      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (restore_id, seq)
) STRICT;
INSERT INTO restore_steps_new SELECT * FROM restore_steps;

DROP TABLE restore_steps;
DROP TABLE restore_requests;
ALTER TABLE restore_requests_new RENAME TO restore_requests;
ALTER TABLE restore_steps_new RENAME TO restore_steps;
CREATE INDEX restore_requests_by_state ON restore_requests (state, id);
CREATE INDEX restore_requests_by_tag ON restore_requests (node, tag);

-- A pin keeps a snapshot from being cleared: `until_ms` NULL holds until the pin is removed.
CREATE TABLE snapshot_pins (
    node        TEXT    NOT NULL,
    tag         TEXT    NOT NULL,
    -- Who holds it, e.g. 'restore:12' or 'restore:12:safety'.
    holder      TEXT    NOT NULL,
    -- A sentence for the pages and for a refused clear.
    reason      TEXT    NOT NULL,
    pinned_at   INTEGER NOT NULL,
    until_ms    INTEGER,
    PRIMARY KEY (node, tag, holder)
) STRICT;
CREATE INDEX snapshot_pins_by_holder ON snapshot_pins (holder);
-- Requests open before this migration keep their source snapshot as they did.
INSERT INTO snapshot_pins (node, tag, holder, reason, pinned_at, until_ms)
    SELECT node, tag, 'restore:' || id,
           'restore request ' || id || ' uses it until it is done, rejected, cancelled or expired',
           requested_at, NULL
    FROM restore_requests
    WHERE state IN ('awaiting_approval', 'approved', 'running', 'interrupted', 'failed');

-- What full-node restores set aside (the node's previous SSTables per table, its commit log
-- segments): never deleted by the restore itself; kept until an admin removes them or
-- `keep_until` passes.
CREATE TABLE restore_aside (
    path         TEXT    PRIMARY KEY,
    restore_id   INTEGER NOT NULL,
    node         TEXT    NOT NULL,
    -- 'sstables' (one table's files) or 'commitlog'.
    kind         TEXT    NOT NULL CHECK (kind IN ('sstables', 'commitlog')),
    what         TEXT    NOT NULL,
    bytes        INTEGER NOT NULL,
    files        INTEGER NOT NULL,
    set_aside_at INTEGER NOT NULL,
    keep_until   INTEGER NOT NULL,
    removed_at   INTEGER,
    removed_by   TEXT
) STRICT;
CREATE INDEX restore_aside_by_restore ON restore_aside (restore_id);
