-- What the API and `etl tasks list` read of the task queue (etl_toolkit.tasks.read).

-- name: get
SELECT t.*, coalesce((SELECT jsonb_object_agg(d.object_class, d.anonymised)
                      FROM tasks.detections d WHERE d.task_id = t.id), '{}'::jsonb) AS detections
FROM tasks.tasks t
WHERE t.id = %(id)s

-- name: list
SELECT t.*, coalesce((SELECT jsonb_object_agg(d.object_class, d.anonymised)
                      FROM tasks.detections d WHERE d.task_id = t.id), '{}'::jsonb) AS detections,
       count(*) OVER () AS total
FROM tasks.tasks t
WHERE (%(status)s::text IS NULL OR t.status = %(status)s)
ORDER BY t.created_at, t.id
LIMIT %(limit)s OFFSET %(offset)s

-- name: count
SELECT count(*) AS total FROM tasks.tasks WHERE (%(status)s::text IS NULL OR status = %(status)s)

-- name: events
-- A task's history, oldest first; a NULL limit reads it all.
SELECT id, task_id, from_status, to_status, actor, detail, at, count(*) OVER () AS total
FROM tasks.task_events
WHERE task_id = %(id)s
ORDER BY id
LIMIT %(limit)s OFFSET %(offset)s

-- name: events_count
SELECT count(*) AS total FROM tasks.task_events WHERE task_id = %(id)s
