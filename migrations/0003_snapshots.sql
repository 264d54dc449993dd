-- Snapshots: one row per tag per node, its tables, and the files of each table's snapshot
-- directory as scanned. Rows stay after a snapshot is cleared (status 'cleared' or 'gone') so
-- the history page can show it; only one row per (node, tag) can be 'present'.

CREATE TABLE snapshots (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    node                 TEXT    NOT NULL,
    tag                  TEXT    NOT NULL,
    kind                 TEXT    NOT NULL CHECK (kind IN ('manual', 'scheduled', 'truncated', 'dropped', 'pre-restore', 'external')),
    status               TEXT    NOT NULL CHECK (status IN ('present', 'cleared', 'gone')),
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER,
    created_by           TEXT,
    job_id               INTEGER REFERENCES jobs (id),
    note                 TEXT,
    -- 'keyspace.table' of every table, comma-separated, for display and text filters.
    tables               TEXT    NOT NULL DEFAULT '',
    table_count          INTEGER NOT NULL DEFAULT 0,
    files                INTEGER NOT NULL DEFAULT 0,
    size_bytes           INTEGER NOT NULL DEFAULT 0,
    exclusive_hold_bytes INTEGER NOT NULL DEFAULT 0,
    shared_hold_bytes    INTEGER NOT NULL DEFAULT 0,
    first_seen_at        INTEGER NOT NULL,
    measured_at          INTEGER NOT NULL,
    gone_at              INTEGER
) STRICT;
CREATE UNIQUE INDEX snapshots_present ON snapshots (node, tag) WHERE status = 'present';
CREATE INDEX snapshots_by_created ON snapshots (status, created_at DESC, id DESC);
CREATE INDEX snapshots_by_tag ON snapshots (tag);

CREATE TABLE snapshot_tables (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    snapshot_id          INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    keyspace_name        TEXT    NOT NULL,
    table_name           TEXT    NOT NULL,
    table_id             TEXT    NOT NULL,
    data_dir             TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('present', 'cleared', 'gone')),
    created_at           INTEGER,
    expires_at           INTEGER,
    manifest             TEXT,
    schema_cql           TEXT,
    row_count            INTEGER,
    row_count_method     TEXT CHECK (row_count_method IN ('count', 'estimate')),
    files                INTEGER NOT NULL DEFAULT 0,
    size_bytes           INTEGER NOT NULL DEFAULT 0,
    exclusive_hold_bytes INTEGER NOT NULL DEFAULT 0,
    shared_hold_bytes    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (snapshot_id, table_id, data_dir)
) STRICT;
CREATE INDEX snapshot_tables_by_table ON snapshot_tables (keyspace_name, table_name, snapshot_id);

CREATE TABLE snapshot_files (
    snapshot_table_id INTEGER NOT NULL REFERENCES snapshot_tables (id) ON DELETE CASCADE,
    path              TEXT    NOT NULL,
    size              INTEGER NOT NULL,
    inode             INTEGER NOT NULL,
    nlink             INTEGER NOT NULL,
    PRIMARY KEY (snapshot_table_id, path)
) STRICT, WITHOUT ROWID;
