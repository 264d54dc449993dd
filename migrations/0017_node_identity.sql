-- Who each node is in its cluster, from its own system.local at the last check: cluster name,
-- data centre, rack, host id and how many tokens it owns. NULL until a check reached it.
ALTER TABLE nodes ADD COLUMN cluster_name TEXT;
ALTER TABLE nodes ADD COLUMN dc TEXT;
ALTER TABLE nodes ADD COLUMN rack TEXT;
ALTER TABLE nodes ADD COLUMN host_id TEXT;
ALTER TABLE nodes ADD COLUMN tokens INTEGER;
