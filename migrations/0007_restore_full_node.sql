-- Restore target 'full_node' (every table of a snapshot on one node, node stopped). SQLite
-- cannot change a CHECK constraint in place, so both restore tables are rebuilt with the same
-- columns and rows; the journal is copied first and re-pointed by the rename, so no
-- ON DELETE CASCADE fires on the way.

CREATE TABLE restore_requests_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    node                TEXT    NOT NULL,
    tag                 TEXT    NOT NULL,
    -- JSON array of 'keyspace.table'.
    tables              TEXT    NOT NULL,
    target              TEXT    NOT NULL CHECK (target IN ('in_place', 'side', 'full_node')),
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
INSERT INTO restore_requests_new SELECT * FROM restore_requests;

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
-- Renaming also rewrites restore_steps_new's REFERENCES to the new name.
ALTER TABLE restore_requests_new RENAME TO restore_requests;
ALTER TABLE restore_steps_new RENAME TO restore_steps;
CREATE INDEX restore_requests_by_state ON restore_requests (state, id);
CREATE INDEX restore_requests_by_tag ON restore_requests (node, tag);
