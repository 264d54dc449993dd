-- Row counts of snapshots Snapkeep did not count: estimated from the snapshot's SSTables'
-- Statistics.db (`sstables`), or `unknown` once that could not be read (so scans do not read
-- it again). SQLite cannot change a CHECK constraint in place, so snapshot_tables is rebuilt.
-- Its child snapshot_files is rebuilt with it, pointing at the new table, before either old
-- table is dropped: with foreign keys on (sqlx runs this in a transaction, where
-- `PRAGMA foreign_keys` cannot be turned off), dropping the old snapshot_tables while the old
-- snapshot_files still referenced it would cascade and delete every file row.
CREATE TABLE snapshot_tables_new (
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
    row_count_method     TEXT CHECK (row_count_method IN ('count', 'estimate', 'sstables', 'unknown')),
    files                INTEGER NOT NULL DEFAULT 0,
    size_bytes           INTEGER NOT NULL DEFAULT 0,
    exclusive_hold_bytes INTEGER NOT NULL DEFAULT 0,
    shared_hold_bytes    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (snapshot_id, table_id, data_dir)
) STRICT;
INSERT INTO snapshot_tables_new SELECT * FROM snapshot_tables;

CREATE TABLE snapshot_files_new (
    snapshot_table_id INTEGER NOT NULL REFERENCES snapshot_tables_new (id) ON DELETE CASCADE,
    path              TEXT    NOT NULL,
    size              INTEGER NOT NULL,
    inode             INTEGER NOT NULL,
    nlink             INTEGER NOT NULL,
    PRIMARY KEY (snapshot_table_id, path)
) STRICT, WITHOUT ROWID;
INSERT INTO snapshot_files_new SELECT * FROM snapshot_files;

DROP TABLE snapshot_files;
DROP TABLE snapshot_tables;
-- Renaming also rewrites snapshot_files_new's REFERENCES to the new name.
ALTER TABLE snapshot_tables_new RENAME TO snapshot_tables;
ALTER TABLE snapshot_files_new RENAME TO snapshot_files;
CREATE INDEX snapshot_tables_by_table ON snapshot_tables (keyspace_name, table_name, snapshot_id);
