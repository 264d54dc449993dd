-- A snapshot of a whole cluster: the same tag on every node of the cluster, started together.
-- Complete only when every node took it; a retry re-runs only the nodes that failed.
CREATE TABLE cluster_snapshots (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster      TEXT    NOT NULL,
    tag          TEXT    NOT NULL,
    -- The scope as JSON: keyspaces, tables, ttl, skip_flush.
    scope        TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('running', 'complete', 'incomplete')),
    job_id       INTEGER REFERENCES jobs (id),
    requested_by TEXT,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    UNIQUE (cluster, tag)
) STRICT;

CREATE TABLE cluster_snapshot_nodes (
    cluster_snapshot_id INTEGER NOT NULL REFERENCES cluster_snapshots (id) ON DELETE CASCADE,
    node        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    job_id      INTEGER REFERENCES jobs (id),
    message     TEXT    NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 1,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (cluster_snapshot_id, node)
) STRICT;
