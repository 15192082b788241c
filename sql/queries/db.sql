-- Queries of the database layer itself (bootstrap, ledger, status).

-- name: database_exists
SELECT 1 FROM pg_database WHERE datname = %(name)s

-- name: create_ledger
CREATE SCHEMA IF NOT EXISTS etl;
CREATE TABLE IF NOT EXISTS etl.schema_migrations (
    version     text PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL
);

-- name: ledger_exists
SELECT to_regclass('etl.schema_migrations') IS NOT NULL AS present

-- name: applied_migrations
SELECT version, name, checksum, applied_at FROM etl.schema_migrations ORDER BY version

-- name: record_migration
INSERT INTO etl.schema_migrations (version, name, checksum, duration_ms)
VALUES (%(version)s, %(name)s, %(checksum)s, %(duration_ms)s)

-- name: migration_lock
SELECT pg_advisory_lock(hashtext('etl-toolkit:migrate'))

-- name: migration_unlock
SELECT pg_advisory_unlock(hashtext('etl-toolkit:migrate'))

-- name: server_version
SELECT current_setting('server_version') AS version

-- name: ping
SELECT 1

-- name: table_columns
SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       a.attgenerated <> '' AS generated, a.attidentity = 'a' AS identity_always
FROM pg_attribute a
WHERE a.attrelid = to_regclass(%(table)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum

-- name: set_statement_timeout
SELECT set_config('statement_timeout', %(ms)s, false)

-- name: set_utc
SELECT set_config('TimeZone', 'UTC', false)

-- The indexes of a table, primary key and unique constraints included, with the
-- statements that recreate them (a partitioned index is recreated on the whole
-- tree: "ON ONLY" is dropped from its definition).
-- name: index_definitions
SELECT i.relname AS name, c.conname AS constraint_name,
       CASE WHEN c.oid IS NOT NULL
            THEN 'ALTER TABLE ' || %(table)s::regclass::text || ' ADD CONSTRAINT ' || quote_ident(c.conname)
                 || ' ' || pg_get_constraintdef(c.oid)
            ELSE replace(pg_get_indexdef(i.oid), ' ON ONLY ', ' ON ')
       END AS definition
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
WHERE x.indrelid = %(table)s::regclass

-- The embedded server is tuned for bulk loads. A checkpoint per 8 GB of WAL
-- rather than per 1 GB (each checkpoint makes the next writes of every page
-- log the whole page again). And no WAL for data written into a table created
-- or truncated in the same transaction (wal_level minimal: the sales bulk
-- path, the full refresh): the server has no replica and no archive to feed,
-- and crash recovery does not need that WAL (the files are synced at commit).
-- wal_level takes effect at the next start of the server (until then it is
-- pending: set already).
-- name: embedded_tuning
SELECT current_setting('max_wal_size') = '8GB'
       AND (current_setting('wal_level') = 'minimal'
            OR (SELECT pending_restart FROM pg_settings WHERE name = 'wal_level')) AS tuned

-- ALTER SYSTEM runs outside a transaction block: one statement per query.
-- name: tune_wal_size
ALTER SYSTEM SET max_wal_size = '8GB'

-- name: tune_wal_level
ALTER SYSTEM SET wal_level = 'minimal'

-- name: tune_wal_senders
ALTER SYSTEM SET max_wal_senders = 0

-- name: reload_conf
SELECT pg_reload_conf()
