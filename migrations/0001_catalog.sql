-- Snapkeep catalog, first schema: facts about the catalog itself.
-- Later migrations add nodes, tables, snapshots, jobs, users and the rest.
CREATE TABLE catalog_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

INSERT INTO catalog_meta (key, value)
VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
