-- Off-node backups. `store_objects`: every content object a store holds that this catalog
-- knows of (address, content size and SHA-256, verification). `uploads`: one row per manifest
-- written (a snapshot copied to a store, or a batch of shipped incremental backups), with
-- `upload_files` naming each file and the object holding it.



CREATE TABLE store_objects (
    store        TEXT    NOT NULL,
    address      TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    uploaded_at  INTEGER NOT NULL,
    verified_at  INTEGER,
    -- What the last verification found wrong; NULL when it passed.
    problem      TEXT,
    -- When the last upload naming it was purged; it is deleted from the store after the
    -- grace period unless an upload names it again meanwhile.
    orphaned_at  INTEGER,
    PRIMARY KEY (store, address)
) STRICT;

CREATE TABLE uploads (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    store           TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('snapshot', 'backup')),
    node            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    manifest_key    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    files           INTEGER NOT NULL,
    bytes           INTEGER NOT NULL,
    bytes_sent      INTEGER NOT NULL,
    files_sent      INTEGER NOT NULL,
    key_fingerprint TEXT,
    job_id          INTEGER REFERENCES jobs (id),
    UNIQUE (store, manifest_key)
) STRICT;
CREATE INDEX uploads_by_name ON uploads (kind, name);

CREATE TABLE upload_files (
    upload_id   INTEGER NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    keyspace    TEXT    NOT NULL,
    table_name  TEXT    NOT NULL,
    table_id    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    address     TEXT    NOT NULL
) STRICT;
CREATE INDEX upload_files_by_upload ON upload_files (upload_id);
CREATE INDEX upload_files_by_address ON upload_files (address);
