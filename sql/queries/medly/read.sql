-- The learning-platform API's reads (etl_toolkit/medly/read.py).

-- name: user_profile
SELECT u.uid, u.name, u.metadata, u.first_seen_at, u.last_seen_at,
       (SELECT count(*) FROM medly.attempts a WHERE a.uid = u.uid) AS attempt_count,
       coalesce((SELECT array_agg(DISTINCT a.subject_id ORDER BY a.subject_id)
                 FROM medly.attempts a WHERE a.uid = u.uid), '{}') AS subjects
FROM medly.users u
WHERE u.uid = %(uid)s

-- name: user_exists
SELECT 1 FROM medly.users WHERE uid = %(uid)s

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
