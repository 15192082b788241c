-- The anonymisation task queue's transitions (etl_toolkit.tasks.queue, schema tasks).
-- Transitions are guarded in the WHERE clause: an UPDATE that matches no row is an
-- illegal transition (or an unknown id), and leaves the row untouched.

-- name: insert
-- One clock reading for created_at and updated_at (see jobs.sql: create).
WITH clock AS (SELECT clock_timestamp() AS ts)
INSERT INTO tasks.tasks (bucket, object_key, media_type, file_name, size_bytes, object_classes,
                         uploaded_at, created_at, updated_at)
SELECT %(bucket)s, %(object_key)s, %(media_type)s, %(file_name)s, %(size_bytes)s,
       %(object_classes)s, coalesce(%(uploaded_at)s, now()), clock.ts, clock.ts
FROM clock
RETURNING id

-- name: status_of
SELECT status FROM tasks.tasks WHERE id = %(id)s

-- name: claim
-- The oldest `new` task, or one whose lease ran out (its processor died), taken
-- atomically: SKIP LOCKED lets concurrent claimers pass each other's rows. Each
-- candidate is found through its own partial index (locking is not allowed in a
-- UNION, hence two CTEs); the one not chosen is released at commit.
WITH fresh AS (
    SELECT id, created_at FROM tasks.tasks
    WHERE status = 'new'
    ORDER BY created_at, id
    LIMIT 1 FOR UPDATE SKIP LOCKED
), stale AS (
    SELECT id, created_at FROM tasks.tasks
    WHERE status = 'processing' AND lease_expires_at < clock_timestamp()
      AND attempts < %(max_attempts)s
    ORDER BY lease_expires_at
    LIMIT 1 FOR UPDATE SKIP LOCKED
), next AS (
    SELECT id FROM (SELECT * FROM fresh UNION ALL SELECT * FROM stale) candidates
    ORDER BY created_at, id
    LIMIT 1
)
UPDATE tasks.tasks t
SET status = 'processing', claimed_by = %(processor)s, claim_token = gen_random_uuid(),
    lease_expires_at = clock_timestamp() + make_interval(secs => %(lease_seconds)s),
    attempts = t.attempts + 1, processing_started_at = clock_timestamp(),
    processing_finished_at = NULL, processing_ms = NULL, error = NULL,
    updated_at = greatest(clock_timestamp(), t.updated_at + interval '1 microsecond')
FROM next
WHERE t.id = next.id
RETURNING t.id, t.claim_token, t.bucket, t.object_key, t.media_type, t.file_name,
          t.object_classes, t.lease_expires_at, t.attempts

-- name: expire_exhausted
-- Claims that ran out of lease too often: failed, so the queue cannot loop on them.
UPDATE tasks.tasks
SET status = 'failed', claim_token = NULL, lease_expires_at = NULL,
    error = 'lease expired ' || attempts || ' time(s): no processor reported a result',
    updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
WHERE status = 'processing' AND lease_expires_at < clock_timestamp()
  AND attempts >= %(max_attempts)s
RETURNING id

-- name: finish
-- A processor's report; only the holder of the current claim may give it.
UPDATE tasks.tasks
SET status = %(status)s, claim_token = NULL, lease_expires_at = NULL,
    processing_finished_at = clock_timestamp(), processing_ms = %(processing_ms)s,
    error = %(error)s,
    updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
WHERE id = %(id)s AND status = 'processing' AND claim_token = %(claim_token)s
RETURNING id

-- name: requeue
-- A retryable failure: back to the queue while attempts remain.
UPDATE tasks.tasks
SET status = 'new', claim_token = NULL, lease_expires_at = NULL, claimed_by = NULL,
    error = %(error)s,
    updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
WHERE id = %(id)s AND status = 'processing' AND claim_token = %(claim_token)s
  AND attempts < %(max_attempts)s
RETURNING id

-- name: clear_detections
DELETE FROM tasks.detections WHERE task_id = %(id)s

-- name: insert_detections
INSERT INTO tasks.detections (task_id, object_class, anonymised)
SELECT %(id)s, c, n FROM unnest(%(classes)s::text[], %(counts)s::int[]) AS x (c, n)

-- name: delete
UPDATE tasks.tasks
SET status = 'deleted', claim_token = NULL, lease_expires_at = NULL,
    updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
WHERE id = %(id)s AND status <> 'deleted'
RETURNING id
