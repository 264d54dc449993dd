-- Schedules: snapshots taken by the server's own timer (cron expression in a time zone),
-- each run recorded once per due time, and the retention that clears what a schedule took.

CREATE TABLE schedules (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL CHECK (kind IN ('snapshot', 'drill')),
    cron         TEXT    NOT NULL,
    timezone     TEXT    NOT NULL,
    -- JSON {"nodes": [...], "keyspaces": [...], "tables": [...]}; empty lists mean "all".
    scope        TEXT    NOT NULL,
    tag_template TEXT    NOT NULL,
    ttl          TEXT,
    upload_to    TEXT,
    overlap      TEXT    NOT NULL CHECK (overlap IN ('skip', 'queue')),
    catch_up     INTEGER NOT NULL CHECK (catch_up IN (0, 1)),
    -- JSON {"keep_last", "keep_days", "daily", "weekly", "monthly"}, each optional.
    retention    TEXT    NOT NULL,
    paused       INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    -- Unix ms of the next due run (NULL while paused or when the cron has no further time).
    next_run_at  INTEGER,
    -- Which server process may start this schedule's runs, until when (Unix ms).
    lease_owner  TEXT,
    lease_until  INTEGER,
    created_at   INTEGER NOT NULL,
    created_by   TEXT,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX schedules_due ON schedules (paused, next_run_at);

-- One row per due time of a schedule: the UNIQUE constraint is what makes a due time run at
-- most once, whichever server (or restart) gets there.
CREATE TABLE schedule_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    due_at      INTEGER NOT NULL,
    -- 'manual' for `POST /schedules/{id}/run`, 'catch-up' for a run missed while no server ran.
    trigger     TEXT    NOT NULL CHECK (trigger IN ('timer', 'catch-up', 'manual')),
    state       TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed', 'skipped', 'interrupted')),
    tag         TEXT,
    job_id      INTEGER REFERENCES jobs (id),
    message     TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (schedule_id, due_at)
) STRICT;
CREATE INDEX schedule_runs_by_schedule ON schedule_runs (schedule_id, id DESC);
CREATE INDEX schedule_runs_by_tag ON schedule_runs (tag);
