-- Learning platform, after measuring at 100x (bench/medly):
-- 1. A lesson's items are paged in index order (lesson, via, questionID), so
--    a page reads only its rows instead of joining and sorting every link.
CREATE INDEX item_lessons_page_idx ON medly.item_lessons (lesson_id, via, question_ref);
DROP INDEX medly.item_lessons_lesson_idx;
-- 2. Every run moves last_seen_at on every row it sees. With free space left
--    in each page those updates are HOT (no index entries rewritten), which is
--    most of the cost of an idempotent re-run. Applies to pages written from
--    now on.
ALTER TABLE medly.attempts SET (fillfactor = 70);
ALTER TABLE medly.items SET (fillfactor = 70);
ALTER TABLE medly.item_appearances SET (fillfactor = 70);
ALTER TABLE medly.item_lessons SET (fillfactor = 70);
