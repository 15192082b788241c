-- The learning-platform migration (schema medly). Staging tables are temp
-- tables named stg_<entity>, deduplicated into stg_<entity>_d.

-- name: tune_session
-- For this transaction only: deduplication sorts millions of staged rows; with
-- the 4 MB default they spill to disk.
SELECT set_config('work_mem', '256MB', true), set_config('maintenance_work_mem', '512MB', true)

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

-- name: vacuum
-- After a bulk load, outside the transaction: fresh planner statistics, and a
-- visibility map so index-only scans (a lesson's item count) need no heap
-- fetches. Autovacuum would get there later; the API should not wait for it.
VACUUM (ANALYZE) medly.subjects, medly.units, medly.topics, medly.lessons, medly.paper_sets,
        medly.papers, medly.practice_banks, medly.bank_chunks, medly.questions, medly.items,
        medly.item_appearances, medly.item_lessons, medly.users, medly.attempts
