-- The run ledger (etl.runs).

-- name: start
INSERT INTO etl.runs (pipeline, arguments)
VALUES (%(pipeline)s, %(arguments)s)
RETURNING id, started_at

-- name: finish
UPDATE etl.runs
SET status = %(status)s, finished_at = now(), counts = %(counts)s,
    report = %(report)s, error = %(error)s
WHERE id = %(id)s

-- name: list
SELECT id, pipeline, arguments, status, started_at, finished_at, counts, error,
       extract(epoch FROM coalesce(finished_at, now()) - started_at)::float8 AS seconds
FROM etl.runs
WHERE (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
ORDER BY started_at DESC, id DESC
LIMIT %(limit)s

-- name: get
SELECT id, pipeline, arguments, status, started_at, finished_at, counts, report, error,
       extract(epoch FROM coalesce(finished_at, now()) - started_at)::float8 AS seconds
FROM etl.runs
WHERE id = %(id)s

-- Runs of a pipeline still marked running when a new one holds the pipeline's
-- lock: their process died (kill -9, OOM, power) before it could record an end.
-- Runs opened by an orchestrator (their arguments name the execution) hold the
-- lock only stage by stage: their own failure handler closes them.
-- name: abandon_running
UPDATE etl.runs
SET status = 'failed', finished_at = now(),
    error = 'abandoned: the process ended before the run finished (killed or crashed)'
WHERE pipeline = %(pipeline)s AND status = 'running'
  AND arguments ->> 'execution' IS NULL
  AND id IS DISTINCT FROM %(current)s
RETURNING id

-- The runs an orchestrator's execution left running when it failed elsewhere.
-- name: fail_running_execution
UPDATE etl.runs
SET status = 'failed', finished_at = now(), error = %(error)s
WHERE pipeline = %(pipeline)s AND status = 'running'
  AND arguments ->> 'execution' = %(execution)s
RETURNING id
