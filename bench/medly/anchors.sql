-- Anchors for bench/medly: the naive way, one INSERT per row (what a first
-- script does), into a copy of medly.attempts without foreign keys.

-- name: create_naive
CREATE TABLE bench_naive_attempts (LIKE medly.attempts INCLUDING DEFAULTS INCLUDING INDEXES)

-- name: create_bulk
CREATE TABLE bench_bulk_attempts (LIKE medly.attempts INCLUDING DEFAULTS INCLUDING INDEXES)

-- name: naive_insert
INSERT INTO bench_naive_attempts (uid, paper_id, question_ref, subject_id, created_at, updated_at,
    is_marked, user_mark, user_answer, annotated_answer, marking_table, options, canvas, extra,
    source_file)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (uid, paper_id, question_ref) DO UPDATE
SET user_mark = EXCLUDED.user_mark, updated_at = EXCLUDED.updated_at

-- name: truncate_naive
TRUNCATE bench_naive_attempts

-- name: drop_anchors
DROP TABLE IF EXISTS bench_naive_attempts, bench_bulk_attempts
