-- The run ledger (etl.runs).

-- name: start
INSERT INTO etl.runs (pipeline, arguments)
VALUES (%(pipeline)s, %(arguments)s)
RETURNING id, started_at

-- A run started by a process that lives as long as the run (every CLI run):
-- the row and a session advisory lock keyed by its id come in one statement,
-- so no other session sees the run before its lock is held. The lock goes
-- when the process's connection does (exit, kill -9, a lost host): a running
-- run whose lock nobody holds is dead. Key: (1702128754 = 'etlr', id).
-- name: start_held
WITH r AS (
    INSERT INTO etl.runs (pipeline, arguments)
    VALUES (%(pipeline)s, %(arguments)s)
    RETURNING id, started_at
)
SELECT id, started_at, pg_advisory_lock(1702128754, (id %% 2147483648)::int4) IS NULL AS held
FROM r

-- name: finish
UPDATE etl.runs
SET status = %(status)s, finished_at = now(), counts = %(counts)s,
    report = %(report)s, error = %(error)s
WHERE id = %(id)s

-- name: get
SELECT id, pipeline, arguments, status, started_at, finished_at, counts, report, error,
       extract(epoch FROM coalesce(finished_at, now()) - started_at)::float8 AS seconds,
       CASE WHEN status = 'running' AND arguments ->> 'execution' IS NULL
            THEN etl.run_held(id)
       END AS alive
FROM etl.runs
WHERE id = %(id)s

-- Runs of a pipeline still marked running whose process is gone (kill -9, OOM,
-- power): nobody holds their lock (see start_held). Runs opened by an
-- orchestrator (their arguments name the execution) are held by no process
-- between stages: their own failure handler closes them (fail_running_execution).
-- name: abandon_running
UPDATE etl.runs r
SET status = 'failed', finished_at = now(),
    error = 'abandoned: the process ended before the run finished (killed or crashed)'
WHERE r.pipeline = %(pipeline)s AND r.status = 'running'
  AND r.arguments ->> 'execution' IS NULL
  AND r.id IS DISTINCT FROM %(current)s
  AND NOT etl.run_held(r.id)
RETURNING r.id

-- The runs an orchestrator's execution left running when it failed elsewhere.
-- name: fail_running_execution
UPDATE etl.runs
SET status = 'failed', finished_at = now(), error = %(error)s
WHERE pipeline = %(pipeline)s AND status = 'running'
  AND arguments ->> 'execution' = %(execution)s
RETURNING id

-- alive: for a running run its process holds (see start_held), whether it still
-- does; null for finished runs and orchestrator runs (no process holds those).
-- report: only when asked for (`etl runs --json` shows it; the API's list
-- leaves it to GET /runs/{id}, a sales report is kilobytes per run).
-- name: page
SELECT id, pipeline, arguments, status, started_at, finished_at, counts, error,
       CASE WHEN %(reports)s::boolean THEN report END AS report,
       extract(epoch FROM coalesce(finished_at, now()) - started_at)::float8 AS seconds,
       CASE WHEN status = 'running' AND arguments ->> 'execution' IS NULL
            THEN etl.run_held(id)
       END AS alive
FROM etl.runs
WHERE (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY started_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s

-- name: count
SELECT count(*) AS n FROM etl.runs
WHERE (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)

-- name: dq_results
SELECT check_name, subject, severity, observed::float8 AS observed,
       threshold::float8 AS threshold, passed, detail
FROM sales.dq_results WHERE run_id = %(id)s
ORDER BY passed, severity, check_name, subject

-- Prometheus, computed from the ledger at scrape time (every process sees the same).
-- name: metrics_runs
SELECT pipeline, status, count(*) AS n FROM etl.runs GROUP BY pipeline, status

-- Rows written and refused, per pipeline, from each run's counts.
-- name: metrics_rows
SELECT r.pipeline,
       coalesce(sum(CASE r.pipeline
           WHEN 'sales' THEN coalesce((r.counts ->> 'inserted')::bigint, 0)
                             + coalesce((r.counts ->> 'updated')::bigint, 0)
           WHEN 'load-pdf' THEN coalesce((r.counts ->> 'words')::bigint, 0)
           ELSE (SELECT coalesce(sum(coalesce((e.value ->> 'inserted')::bigint, 0)
                                     + coalesce((e.value ->> 'updated')::bigint, 0)), 0)
                 FROM jsonb_each(r.counts) e WHERE jsonb_typeof(e.value) = 'object')
       END), 0)::float8 AS loaded,
       coalesce(sum(CASE r.pipeline
           WHEN 'sales' THEN coalesce((r.counts ->> 'rejected')::bigint, 0)
           WHEN 'load-pdf' THEN coalesce((r.counts ->> 'failed')::bigint, 0)
           ELSE (SELECT coalesce(sum(coalesce((e.value ->> 'skipped')::bigint, 0)), 0)
                 FROM jsonb_each(r.counts) e WHERE jsonb_typeof(e.value) = 'object')
       END), 0)::float8 AS rejected
FROM etl.runs r
GROUP BY r.pipeline

-- name: metrics_last_success
SELECT pipeline, extract(epoch FROM max(finished_at))::float8 AS at
FROM etl.runs WHERE status = 'succeeded' GROUP BY pipeline
