-- Jobs, node inventory and disk scans.

-- Long operations (scans, snapshots, restores): one row each, progress visible to the UI.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    node        TEXT,
    state       TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'interrupted')),
    progress    REAL    NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    message     TEXT    NOT NULL DEFAULT '',
    error       TEXT,
    params      TEXT    NOT NULL DEFAULT '{}',
    result      TEXT,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER
) STRICT;
CREATE INDEX jobs_by_state ON jobs (state, id);

-- The last known state of each configured node (times are Unix milliseconds, UTC).
CREATE TABLE nodes (
    name        TEXT PRIMARY KEY NOT NULL,
    reachable   INTEGER NOT NULL DEFAULT 0,
    version     TEXT,
    last_error  TEXT,
    checked_at  INTEGER
) STRICT;

-- One scan of one node's data directories. Readers use the newest scan in state 'done', so
-- the last good scan stays visible while a new one runs.
CREATE TABLE scans (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    node        TEXT    NOT NULL,
    job_id      INTEGER REFERENCES jobs (id),
    state       TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    files_seen  INTEGER NOT NULL DEFAULT 0,
    hold_bytes  INTEGER NOT NULL DEFAULT 0,
    hold_inodes INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX scans_by_node ON scans (node, state, id);

CREATE TABLE scan_filesystems (
    scan_id      INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    data_dir     TEXT    NOT NULL,
    total_bytes  INTEGER,
    avail_bytes  INTEGER,
    free_bytes   INTEGER,
    total_inodes INTEGER,
    free_inodes  INTEGER,
    error        TEXT,
    PRIMARY KEY (scan_id, data_dir)
) STRICT;

CREATE TABLE scan_tables (
    scan_id          INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    keyspace_name    TEXT    NOT NULL,
    table_name       TEXT    NOT NULL,
    table_id         TEXT    NOT NULL,
    data_dir         TEXT    NOT NULL,
    in_schema        INTEGER NOT NULL,
    live_bytes       INTEGER NOT NULL,
    live_files       INTEGER NOT NULL,
    live_inodes      INTEGER NOT NULL,
    sstables         INTEGER NOT NULL,
    snapshot_count   INTEGER NOT NULL,
    snapshots_bytes  INTEGER NOT NULL,
    snapshots_files  INTEGER NOT NULL,
    hold_bytes       INTEGER NOT NULL,
    hold_inodes      INTEGER NOT NULL,
    backups_bytes    INTEGER NOT NULL,
    backups_files    INTEGER NOT NULL,
    PRIMARY KEY (scan_id, table_id, data_dir)
) STRICT;

CREATE TABLE scan_unknown (
    scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    path    TEXT    NOT NULL,
    reason  TEXT    NOT NULL
) STRICT;
