-- Restore drills: a snapshot's tables restored into side tables of Snapkeep's own keyspace
-- `snapkeep_drill`, verified (rows against the snapshot's count, every SSTable linked, a
-- query answering), timed, then dropped. One row per drill; its restore request (auto-approved:
-- a drill never touches live tables) keeps the plan, journal and verification.
CREATE TABLE drills (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id INTEGER REFERENCES schedules (id) ON DELETE SET NULL,
    node        TEXT    NOT NULL,
    -- The snapshot restored (NULL until chosen, e.g. the newest one holding the tables).
    tag         TEXT,
    -- JSON array of 'keyspace.table' as asked.
    tables      TEXT    NOT NULL,
    store       TEXT,
    restore_id  INTEGER REFERENCES restore_requests (id) ON DELETE SET NULL,
    job_id      INTEGER REFERENCES jobs (id),
    state       TEXT    NOT NULL CHECK (state IN ('running', 'passed', 'failed', 'interrupted')),
    requested_by TEXT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    -- Time the restore took, staging to verification (ms).
    restore_ms  INTEGER,
    message     TEXT    NOT NULL DEFAULT '',
    -- JSON array of per-table results (rows expected and found, passed, notes).
    result      TEXT
) STRICT;
CREATE INDEX drills_by_started ON drills (started_at DESC, id DESC);
