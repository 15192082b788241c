-- The learning-platform migration (schema medly). Staging tables are temp
-- tables named stg_<entity>, deduplicated into stg_<entity>_d.

-- name: keep_subject_attributes
-- A subject's board, qualification and title come from its exams file's paper
-- sets; its course file names the id only. A source that does not state a value
-- never erases it (issue 13: an empty exams file blanked a loaded subject): a
-- null is filled from another staged row of the same subject, then from the
-- stored row. A stated value still replaces the stored one. A subject no paper
-- set carried this run keeps its stored provenance.
UPDATE stg_subjects_d s
SET
    board = coalesce(s.board,
        (SELECT x.board FROM stg_subjects x WHERE x.subject_id = s.subject_id AND x.board IS NOT NULL
         ORDER BY x._priority, x._ord DESC LIMIT 1),
        (SELECT t.board FROM medly.subjects t WHERE t.subject_id = s.subject_id)),
    qualification = coalesce(s.qualification,
        (SELECT x.qualification FROM stg_subjects x WHERE x.subject_id = s.subject_id AND x.qualification IS NOT NULL
         ORDER BY x._priority, x._ord DESC LIMIT 1),
        (SELECT t.qualification FROM medly.subjects t WHERE t.subject_id = s.subject_id)),
    title = coalesce(s.title,
        (SELECT x.title FROM stg_subjects x WHERE x.subject_id = s.subject_id AND x.title IS NOT NULL
         ORDER BY x._priority, x._ord DESC LIMIT 1),
        (SELECT t.title FROM medly.subjects t WHERE t.subject_id = s.subject_id)),
    source_file = CASE WHEN s._priority = 0 THEN s.source_file
        ELSE coalesce((SELECT t.source_file FROM medly.subjects t WHERE t.subject_id = s.subject_id),
                      s.source_file) END

-- name: keep_exam_items
-- The exam appearance of an item is canonical. An item a paper has listed keeps
-- its values when this run sees it only in a practice bank (its exams file empty
-- or without that paper): a source that does not state the exam's values must
-- not overwrite them with its own.
UPDATE stg_items_d s
SET (question_id, part, question_type, text, markmax, markscheme, difficulty, options,
     correct_answer, specification_point, diagram, extra, source_file)
  = (i.question_id, i.part, i.question_type, i.text, i.markmax, i.markscheme, i.difficulty,
     i.options, i.correct_answer, i.specification_point, i.diagram, i.extra, i.source_file)
FROM medly.items i
WHERE s._priority = 1
  AND i.question_ref = s.question_ref
  AND EXISTS (SELECT 1 FROM medly.item_appearances a
              WHERE a.question_ref = s.question_ref AND a.source_kind = 'paper')

-- name: resolve_bank_lessons
UPDATE stg_practice_banks_d s
SET lesson_resolved = EXISTS (SELECT 1 FROM medly.lessons l WHERE l.lesson_id = s.lesson_id)

-- name: resolve_item_lessons
UPDATE stg_item_lessons_d s SET lesson_id = l.lesson_id
FROM medly.lessons l
WHERE l.lesson_id = s.lesson_ref

-- name: resolve_attempt_items
UPDATE stg_attempts_d s SET item_ref = i.question_ref
FROM medly.items i
WHERE i.question_ref = s.question_ref

-- name: unresolved
-- References this run kept without a target, with a few examples each.
SELECT 'attempt questionID' AS reference, count(*) AS n,
       (array_agg(question_ref ORDER BY question_ref))[1:3] AS examples
FROM stg_attempts_d WHERE item_ref IS NULL
UNION ALL
SELECT 'attempt paper_id', count(*), (array_agg(DISTINCT paper_id))[1:3]
FROM stg_attempts_d s WHERE NOT EXISTS (SELECT 1 FROM medly.papers p WHERE p.paper_id = s.paper_id)
UNION ALL
SELECT 'item lessonID', count(*), (array_agg(DISTINCT lesson_ref))[1:3]
FROM stg_item_lessons_d WHERE lesson_id IS NULL
UNION ALL
SELECT 'practice bank lessonID', count(*), (array_agg(lesson_id ORDER BY lesson_id))[1:3]
FROM stg_practice_banks_d WHERE NOT lesson_resolved

-- name: store_skipped
-- This run's skipped records (staged in stg_skipped), each stored once: the same
-- record of the same file content, met again by a re-run, is not stored twice.
WITH up AS (
    INSERT INTO medly.skipped AS t
        (run_id, source_file, source_sha256, entity, record_key, position, reason, raw)
    SELECT DISTINCT ON (source_file, source_sha256, entity, position)
           run_id, source_file, source_sha256, entity, record_key, position, reason, raw
    FROM stg_skipped
    ORDER BY source_file, source_sha256, entity, position, _ord
    ON CONFLICT (source_file, source_sha256, entity, position) DO UPDATE
    SET last_run_id = EXCLUDED.run_id, last_seen_at = now(), reason = EXCLUDED.reason
    RETURNING (xmax = 0) AS stored
)
SELECT count(*) FILTER (WHERE stored) AS stored, count(*) FILTER (WHERE NOT stored) AS known
FROM up

-- name: user_profile
SELECT u.uid, u.name, u.metadata, u.first_seen_at, u.last_seen_at,
       (SELECT count(*) FROM medly.attempts a WHERE a.uid = u.uid) AS attempt_count,
       coalesce((SELECT array_agg(DISTINCT a.subject_id ORDER BY a.subject_id)
                 FROM medly.attempts a WHERE a.uid = u.uid), '{}') AS subjects
FROM medly.users u
WHERE u.uid = %(uid)s

-- name: user_exists
SELECT 1 FROM medly.users WHERE uid = %(uid)s

-- name: update_user
UPDATE medly.users
SET name = CASE WHEN %(set_name)s THEN %(name)s ELSE name END,
    metadata = CASE WHEN %(set_metadata)s THEN %(metadata)s ELSE metadata END
WHERE uid = %(uid)s
RETURNING uid

-- name: user_activity
-- Newest first; the lesson filter matches resolved and unresolved lesson links.
SELECT a.question_ref, a.paper_id, a.subject_id, a.created_at, a.updated_at, a.is_marked,
       a.user_mark, i.markmax, i.question_type, a.item_ref IS NOT NULL AS item_known,
       coalesce((SELECT array_agg(DISTINCT l.lesson_ref ORDER BY l.lesson_ref)
                 FROM medly.item_lessons l WHERE l.question_ref = a.question_ref), '{}') AS lessons,
       count(*) OVER () AS total
FROM medly.attempts a
LEFT JOIN medly.items i ON i.question_ref = a.item_ref
WHERE a.uid = %(uid)s
  AND (%(subject)s::text IS NULL OR a.subject_id = %(subject)s)
  AND (%(paper)s::text IS NULL OR a.paper_id = %(paper)s)
  AND (%(lesson)s::text IS NULL OR EXISTS (
        SELECT 1 FROM medly.item_lessons l
        WHERE l.question_ref = a.question_ref AND l.lesson_ref = %(lesson)s))
ORDER BY a.created_at DESC, a.paper_id, a.question_ref
LIMIT %(limit)s OFFSET %(offset)s

-- name: user_activity_count
-- The filtered total when the page is past the end (user_activity's window count has no row).
SELECT count(*) AS total
FROM medly.attempts a
WHERE a.uid = %(uid)s
  AND (%(subject)s::text IS NULL OR a.subject_id = %(subject)s)
  AND (%(paper)s::text IS NULL OR a.paper_id = %(paper)s)
  AND (%(lesson)s::text IS NULL OR EXISTS (
        SELECT 1 FROM medly.item_lessons l
        WHERE l.question_ref = a.question_ref AND l.lesson_ref = %(lesson)s))

-- name: lesson
SELECT l.lesson_id, l.title, l.lesson_index, l.subject_id,
       u.unit_index, u.title AS unit_title, t.topic_index, t.title AS topic_title
FROM medly.lessons l
JOIN medly.topics t USING (subject_id, unit_index, topic_index)
JOIN medly.units u USING (subject_id, unit_index)
WHERE l.lesson_id = %(lesson_id)s

-- name: lesson_items
-- Items linked to a lesson through practice banks or exam papers, a page in
-- questionID order (the order of item_lessons_page_idx: only the page is read).
SELECT i.question_ref, i.question_id, i.part, i.question_type, i.markmax, i.difficulty, i.text
FROM (SELECT question_ref FROM medly.item_lessons
      WHERE lesson_id = %(lesson_id)s AND via = %(via)s
      ORDER BY question_ref
      LIMIT %(limit)s OFFSET %(offset)s) l
JOIN medly.items i ON i.question_ref = l.question_ref
ORDER BY l.question_ref

-- name: lesson_items_count
SELECT count(*) AS total FROM medly.item_lessons
WHERE lesson_id = %(lesson_id)s AND via = %(via)s

-- name: paper
SELECT p.paper_id, p.tier, p.paper_number, s.paper_set_key, s.subject_id, s.board,
       s.qualification, s.subject_title, s.set_type, s.series
FROM medly.papers p
JOIN medly.paper_sets s ON s.paper_set_key = p.paper_set_key
WHERE p.paper_id = %(paper_id)s

-- name: paper_items
-- A page of a paper's items in paper order (item_appearances_source_idx).
SELECT a.question_number, a.part, i.question_ref, i.question_id, i.question_type, i.markmax,
       i.difficulty, i.text
FROM medly.item_appearances a
JOIN medly.items i ON i.question_ref = a.question_ref
WHERE a.source_kind = 'paper' AND a.source_id = %(paper_id)s
ORDER BY a.question_number NULLS LAST, a.part NULLS LAST, i.question_ref
LIMIT %(limit)s OFFSET %(offset)s

-- name: paper_items_count
SELECT count(*) AS total FROM medly.item_appearances
WHERE source_kind = 'paper' AND source_id = %(paper_id)s

-- name: item
SELECT i.question_ref, i.question_id, i.part, i.question_type, i.text, i.markmax,
       i.markscheme, i.difficulty, i.options, i.correct_answer, i.specification_point,
       q.stem,
       (SELECT count(*) FROM medly.item_lessons l WHERE l.question_ref = i.question_ref)
           AS lessons_total,
       (SELECT count(*) FROM medly.item_appearances a WHERE a.question_ref = i.question_ref)
           AS appearances_total,
       (SELECT count(*) FROM medly.attempts t WHERE t.item_ref = i.question_ref) AS attempts,
       (SELECT count(*) FROM medly.attempts t WHERE t.item_ref = i.question_ref AND t.is_marked)
           AS marked,
       (SELECT avg(t.user_mark)::float8 FROM medly.attempts t
        WHERE t.item_ref = i.question_ref AND t.user_mark IS NOT NULL) AS mean_mark,
       (SELECT count(DISTINCT t.uid) FROM medly.attempts t WHERE t.item_ref = i.question_ref)
           AS users
FROM medly.items i
JOIN medly.questions q ON q.question_id = i.question_id
WHERE i.question_ref = %(question_ref)s

-- name: item_lessons
-- A page of an item's lessons (the primary key's order).
SELECT lesson_ref, lesson_id IS NOT NULL AS resolved, via
FROM medly.item_lessons
WHERE question_ref = %(question_ref)s
ORDER BY lesson_ref, via
LIMIT %(limit)s OFFSET %(offset)s

-- name: item_appearances
-- A page of where an item appears: papers and practice banks (the primary key's order).
SELECT source_kind, source_id, question_number, part
FROM medly.item_appearances
WHERE question_ref = %(question_ref)s
ORDER BY source_kind, source_id
LIMIT %(limit)s OFFSET %(offset)s

-- name: tune_session
-- For this transaction only: deduplication sorts millions of staged rows; with
-- the 4 MB default they spill to disk.
SELECT set_config('work_mem', '256MB', true), set_config('maintenance_work_mem', '512MB', true)

-- name: vacuum
-- After a bulk load, outside the transaction: fresh planner statistics, and a
-- visibility map so index-only scans (a lesson's item count) need no heap
-- fetches. Autovacuum would get there later; the API should not wait for it.
VACUUM (ANALYZE) medly.subjects, medly.units, medly.topics, medly.lessons, medly.paper_sets,
        medly.papers, medly.practice_banks, medly.bank_chunks, medly.questions, medly.items,
        medly.item_appearances, medly.item_lessons, medly.users, medly.attempts
