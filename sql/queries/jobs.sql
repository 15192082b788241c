-- Extraction jobs (docs.extraction_jobs) and their status history.

-- name: create
-- One clock reading for both timestamps: two column defaults would read the clock
-- twice, and a new job's updated_at could differ from its created_at.
WITH clock AS (SELECT clock_timestamp() AS ts)
INSERT INTO docs.extraction_jobs (document_id, priority, metadata, created_at, updated_at)
SELECT %(document_id)s, %(priority)s, %(metadata)s, clock.ts, clock.ts FROM clock
RETURNING id, document_id, status, priority, metadata, error_message, created_at, updated_at

-- name: get
SELECT id, document_id, status, priority, metadata, error_message, created_at, updated_at
FROM docs.extraction_jobs
WHERE id = %(id)s

-- name: update_status
-- updated_at always moves forward, even for two updates within one clock tick.
UPDATE docs.extraction_jobs
SET status = %(status)s,
    error_message = CASE WHEN %(set_error)s THEN %(error_message)s ELSE error_message END,
    updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
WHERE id = %(id)s
RETURNING id, document_id, status, priority, metadata, error_message, created_at, updated_at

-- name: list
SELECT id, document_id, status, priority, metadata, error_message, created_at, updated_at,
       count(*) OVER () AS total
FROM docs.extraction_jobs
WHERE (%(document_id)s::text IS NULL OR document_id = %(document_id)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY created_at, id
LIMIT %(limit)s OFFSET %(offset)s

-- name: count
SELECT count(*) AS total
FROM docs.extraction_jobs
WHERE (%(document_id)s::text IS NULL OR document_id = %(document_id)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)

-- name: events
-- A job's history, oldest first; a NULL limit reads it all.
SELECT id, job_id, from_status, to_status, error_message, created_at, count(*) OVER () AS total
FROM docs.extraction_job_events
WHERE job_id = %(id)s
ORDER BY id
LIMIT %(limit)s OFFSET %(offset)s

-- name: events_count
SELECT count(*) AS total FROM docs.extraction_job_events WHERE job_id = %(id)s

-- Jobs an `etl load-pdf` run left pending or processing when its process died:
-- the run is closed (abandoned, see runs.abandon_running), the job never will
-- be by it. Only jobs whose metadata names a load-pdf run (the API's jobs are
-- the client's to move).
-- name: fail_orphaned
UPDATE docs.extraction_jobs j
SET status = 'failed',
    error_message = 'abandoned: run ' || r.id || ' ended before this job finished ('
                    || coalesce(r.error, r.status) || ')',
    updated_at = greatest(clock_timestamp(), j.updated_at + interval '1 microsecond')
FROM etl.runs r
WHERE j.status IN ('pending', 'processing')
  AND r.id = CASE WHEN j.metadata ->> 'run_id' ~ '^[0-9]{1,18}$'
                  THEN (j.metadata ->> 'run_id')::bigint END
  AND r.pipeline = 'load-pdf' AND r.status <> 'running'
RETURNING j.id, r.id AS run_id
