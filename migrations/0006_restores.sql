-- Restore requests (with the plan and schema check they were approved on) and the journal of
-- their execution: each step recorded before and after its side effect.

CREATE TABLE restore_requests (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    node                TEXT    NOT NULL,
    tag                 TEXT    NOT NULL,
    -- JSON array of 'keyspace.table'.
    tables              TEXT    NOT NULL,
    target              TEXT    NOT NULL CHECK (target IN ('in_place', 'side')),
    side_keyspace       TEXT,
    truncate            INTEGER NOT NULL DEFAULT 0,
    reason              TEXT    NOT NULL,
    requested_by        TEXT    NOT NULL,
    requested_at        INTEGER NOT NULL,
    -- JSON of the dry-run plan and the schema check; the hash binds the approval to them.
    plan                TEXT    NOT NULL,
    plan_hash           TEXT    NOT NULL,
    state               TEXT    NOT NULL CHECK (state IN ('awaiting_approval', 'approved', 'rejected', 'running', 'interrupted', 'done', 'failed')),
    decided_by          TEXT,
    decided_at          INTEGER,
    decision_comment    TEXT,
    approval_expires_at INTEGER,
    job_id              INTEGER REFERENCES jobs (id),
    started_at          INTEGER,
    finished_at         INTEGER,
    error               TEXT,
    -- JSON of the verification once it ran.
    verification        TEXT
) STRICT;
CREATE INDEX restore_requests_by_state ON restore_requests (state, id);
CREATE INDEX restore_requests_by_tag ON restore_requests (node, tag);

CREATE TABLE restore_steps (
    restore_id  INTEGER NOT NULL REFERENCES restore_requests (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
    started_at  INTEGER,
    finished_at INTEGER,
    detail      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (restore_id, seq)
) STRICT;
