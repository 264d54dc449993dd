-- Whether each node has incremental backups on (`nodetool statusbackup` at its last check,
-- or as last set through Snapkeep); NULL when it could not be read.
ALTER TABLE nodes ADD COLUMN incremental_backups INTEGER;
