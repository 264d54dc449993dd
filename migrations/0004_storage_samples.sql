-- Storage sampling: what every scan measured, kept as time series for the reports, the
-- forecasts and the calculator's "use my cluster". Times are Unix milliseconds, UTC.
--
-- Samples are written raw (resolution 0, one per scan) and, once older than
-- [sampling] keep_hourly_days, merged into one row per series and UTC day (resolution 1, at
-- noon of that day), so years of history stay small. The primary keys put each resolution and
-- level in time order: new rows append, and a report reads one contiguous range.

-- A series: a node's total (level 0), a keyspace's total on a node (level 1) or one table,
-- by id, on a node (level 2). Rollups are written with each sample so reports over a node or a
-- keyspace read a few rows per sample, not one per table.
CREATE TABLE sample_series (
    id            INTEGER PRIMARY KEY,
    level         INTEGER NOT NULL CHECK (level IN (0, 1, 2)),
    node          TEXT    NOT NULL,
    keyspace_name TEXT    NOT NULL DEFAULT '',
    table_name    TEXT    NOT NULL DEFAULT '',
    table_id      TEXT    NOT NULL DEFAULT '',
    UNIQUE (node, keyspace_name, table_name, table_id)
) STRICT;

CREATE TABLE storage_samples (
    resolution      INTEGER NOT NULL CHECK (resolution IN (0, 1)),
    level           INTEGER NOT NULL,
    taken_at        INTEGER NOT NULL,
    series_id       INTEGER NOT NULL REFERENCES sample_series (id),
    -- Raw samples merged into this row (1 for a raw sample).
    samples         INTEGER NOT NULL DEFAULT 1,
    live_bytes      INTEGER NOT NULL,
    live_files      INTEGER NOT NULL,
    live_inodes     INTEGER NOT NULL,
    -- Bytes and inodes only snapshots keep alive.
    hold_bytes      INTEGER NOT NULL,
    hold_inodes     INTEGER NOT NULL,
    -- The incremental-backups directory.
    backups_bytes   INTEGER NOT NULL,
    backups_files   INTEGER NOT NULL,
    -- Bytes of live SSTable files present at the series' previous sample and gone now
    -- (compacted away, or truncated/dropped), and the live bytes at that previous sample:
    -- measured churn per day = compacted_bytes / (prev_live_bytes × interval in days).
    compacted_bytes INTEGER NOT NULL,
    prev_live_bytes INTEGER NOT NULL,
    -- Since the previous sample of the series (0 for its first).
    interval_ms     INTEGER NOT NULL,
    -- Running totals of the series since its first sample: compacted bytes, and live bytes ×
    -- days (the churn's denominator). Any range's churn is the difference of two rows, so a
    -- report over a year of 500 tables reads two rows per table, not 8,760.
    cum_compacted_bytes INTEGER NOT NULL DEFAULT 0,
    cum_live_byte_days  REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (resolution, level, taken_at, series_id)
) STRICT, WITHOUT ROWID;

-- The running totals of each series at its last sample.
CREATE TABLE sample_series_state (
    series_id           INTEGER PRIMARY KEY REFERENCES sample_series (id),
    taken_at            INTEGER NOT NULL,
    cum_compacted_bytes INTEGER NOT NULL,
    cum_live_byte_days  REAL    NOT NULL
) STRICT;

-- The live SSTable files of each table at its last sample, to tell which disappeared by the
-- next one, and its live bytes then. One line per file: "<device> <inode> <bytes> <name>".
CREATE TABLE sample_live_files (
    series_id  INTEGER PRIMARY KEY REFERENCES sample_series (id),
    taken_at   INTEGER NOT NULL,
    live_bytes INTEGER NOT NULL,
    files      TEXT    NOT NULL
) STRICT;

-- The filesystem of each data directory.
CREATE TABLE sample_filesystems (
    id       INTEGER PRIMARY KEY,
    node     TEXT    NOT NULL,
    data_dir TEXT    NOT NULL,
    UNIQUE (node, data_dir)
) STRICT;

CREATE TABLE filesystem_samples (
    resolution   INTEGER NOT NULL CHECK (resolution IN (0, 1)),
    taken_at     INTEGER NOT NULL,
    fs_id        INTEGER NOT NULL REFERENCES sample_filesystems (id),
    samples      INTEGER NOT NULL DEFAULT 1,
    total_bytes  INTEGER NOT NULL,
    -- Free for Cassandra (unprivileged); the disk is full for it when this reaches 0.
    avail_bytes  INTEGER NOT NULL,
    free_bytes   INTEGER NOT NULL,
    total_inodes INTEGER NOT NULL,
    free_inodes  INTEGER NOT NULL,
    PRIMARY KEY (resolution, taken_at, fs_id)
) STRICT, WITHOUT ROWID;
