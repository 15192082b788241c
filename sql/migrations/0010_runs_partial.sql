-- A run that loaded part of its batch and failed the rest (some files of an
-- `etl load-pdf` folder) ends `partial`: it exits non-zero like a failed run,
-- but what it loaded stays loaded. Its error names the units that failed.
ALTER TABLE etl.runs DROP CONSTRAINT runs_status_check;
ALTER TABLE etl.runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('running', 'succeeded', 'partial', 'failed'));

-- Whether the process that started a run still holds the run's session
-- advisory lock (key 1702128754 = 'etlr', and the id; taken by the query
-- runs.start_held). The server drops the lock with the connection, whatever
-- ended it (exit, kill -9, a lost host), so a running run nobody holds is dead.
-- Advisory locks are per database: look only at this one's.
CREATE FUNCTION etl.run_held(run_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = 1702128754::oid
          AND l.objid = (run_id % 2147483648)::int4::oid
    )
$$;
