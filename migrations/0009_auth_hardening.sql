-- Issue 13, "Nobody acts alone": who made each API token, passwords set by someone else,
-- a hash-chained audit log with counted (aggregated) rows and system rows, and archival of
-- old audit rows behind an anchor.

-- Who created each token: the holder themselves (a user id) or nobody (the command line, or a
-- token made before this migration). Only a holder's own tokens count for restore decisions.
ALTER TABLE api_tokens ADD COLUMN created_by INTEGER REFERENCES users (id) ON DELETE SET NULL;
-- How it was created: `session`, `token`, `cli`, `library` or '' (before this migration).
ALTER TABLE api_tokens ADD COLUMN created_via TEXT NOT NULL DEFAULT '';

-- Set when someone other than the account's owner chose its password; cleared when the owner
-- changes it (with the old one). While set, the account's restore decisions are refused.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
-- Who set the current password, for the refusal sentence (`cli:root`, `admin ada`, ...).
ALTER TABLE users ADD COLUMN password_set_by TEXT NOT NULL DEFAULT '';

-- The audit log, rebuilt to add:
--   via 'system'  rows written by Snapkeep itself (job outcomes, archival);
--   credential    which credential acted: `session 1a2b3c4d` or `token 12`;
--   count         how many refusals an aggregated row stands for (anonymous noise);
--   prev_hash     the hash of the row before (or of the archive anchor; '' at the start);
--   hash          sha256 over prev_hash and this row's canonical fields.
-- Rows from before this migration get their hashes on the first write after it ("sealing").
CREATE TABLE audit_log_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    via        TEXT    NOT NULL CHECK (via IN ('session', 'token', 'cli', 'anonymous', 'system')),
    address    TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    outcome    TEXT    NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    status     INTEGER NOT NULL DEFAULT 0,
    detail     TEXT    NOT NULL DEFAULT '',
    credential TEXT    NOT NULL DEFAULT '',
    count      INTEGER NOT NULL DEFAULT 1,
    prev_hash  TEXT    NOT NULL DEFAULT '',
    hash       TEXT    NOT NULL DEFAULT ''
) STRICT;
INSERT INTO audit_log_new (id, at, actor, via, address, action, target, outcome, status, detail)
    SELECT id, at, actor, via, address, action, target, outcome, status, detail FROM audit_log;
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
DROP INDEX audit_by_time;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_by_time ON audit_log (at DESC, id DESC);

-- The chain's anchor: the id and hash of the last row moved to an archive file. The first
-- row left in the table must name this hash as its prev_hash.
CREATE TABLE audit_anchor (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_id       INTEGER NOT NULL,
    last_hash     TEXT    NOT NULL,
    archived_rows INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- New rows carry their hash.
CREATE TRIGGER audit_log_hashed BEFORE INSERT ON audit_log
WHEN length(NEW.hash) <> 64
BEGIN
    SELECT RAISE(ABORT, 'audit rows are written with their chain hash');
END;

-- No update, except sealing a row from before the chain once (its hash set, nothing else).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (OLD.hash = '' AND length(NEW.hash) = 64
          AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.via = OLD.via
          AND NEW.address = OLD.address AND NEW.action = OLD.action AND NEW.target = OLD.target
          AND NEW.outcome = OLD.outcome AND NEW.status = OLD.status AND NEW.detail = OLD.detail
          AND NEW.credential = OLD.credential AND NEW.count = OLD.count)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- No delete, except rows at or before the anchor: archival first moves the anchor (which must
-- name an existing row by its true hash, and only ever moves forward), then removes them.
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.id > coalesce((SELECT last_id FROM audit_anchor WHERE id = 1), 0)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: only rows archived up to the anchor may be removed');
END;

CREATE TRIGGER audit_anchor_insert BEFORE INSERT ON audit_anchor
WHEN NOT EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.last_id AND hash = NEW.last_hash)
BEGIN
    SELECT RAISE(ABORT, 'the audit anchor must name an existing row by its hash');
END;
CREATE TRIGGER audit_anchor_update BEFORE UPDATE ON audit_anchor
WHEN NEW.last_id <= OLD.last_id
     OR NEW.archived_rows < OLD.archived_rows
     OR NOT EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.last_id AND hash = NEW.last_hash)
BEGIN
    SELECT RAISE(ABORT, 'the audit anchor only moves forward, to an existing row named by its hash');
END;
CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
BEGIN
    SELECT RAISE(ABORT, 'the audit anchor cannot be removed');
END;
