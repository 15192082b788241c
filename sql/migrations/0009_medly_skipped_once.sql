-- medly.skipped keeps a skipped record once, however often the same input is
-- re-run (issue 13, section 4: a plain re-run doubled the rejects). A record is
-- its file (name and sha256 of the content) and its position in it, a JSON
-- Pointer such as /0/papers/1/questions/3/items/0; a re-run that skips it again
-- counts it in its own report and only moves last_run_id and last_seen_at here.
-- Rows stored before this migration have neither and are left as they are.
ALTER TABLE medly.skipped
    ADD COLUMN source_sha256 text CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
    ADD COLUMN position      text,
    ADD COLUMN last_run_id   bigint REFERENCES etl.runs (id),
    ADD COLUMN last_seen_at  timestamptz;

CREATE UNIQUE INDEX skipped_record_idx
    ON medly.skipped (source_file, source_sha256, entity, position);

-- The foreign key's index: deleting or locking a run must not scan every skip.
CREATE INDEX skipped_last_run_idx ON medly.skipped (last_run_id);
