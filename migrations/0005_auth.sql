-- Users, browser sessions, API tokens and the append-only audit log.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'approver', 'admin')),
    -- argon2id, PHC string format.
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_login_at INTEGER
) STRICT;

-- A session is known by the SHA-256 of its cookie value; the value itself is never stored.
CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    address      TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);

-- API tokens: only the SHA-256 of the token is stored, and its first characters to recognise it.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- Who did what, when, from where, to what, and how it ended (refusals included).
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    via     TEXT    NOT NULL CHECK (via IN ('session', 'token', 'cli', 'anonymous')),
    address TEXT    NOT NULL DEFAULT '',
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL DEFAULT '',
    outcome TEXT    NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    status  INTEGER NOT NULL DEFAULT 0,
    detail  TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_by_time ON audit_log (at DESC, id DESC);

-- Append-only: no update, no delete, whoever asks.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
