-- Loading a PDF (etl_toolkit.pdf.load): documents, pages and words (schema docs).

-- name: find_by_sha
SELECT id, name FROM docs.documents WHERE sha256 = %(sha256)s

-- name: delete_document
DELETE FROM docs.documents WHERE id = %(id)s

-- name: insert_document
-- No conflict target: every unique index (the id and the sha256) arbitrates. With
-- only (sha256), two loads of one file that both passed find_by_sha raced on the
-- primary key and one failed (issue 13, section 4); now the second waits for the
-- first to commit and inserts nothing (it reports `unchanged`).
INSERT INTO docs.documents (id, name, source_path, sha256, size_bytes, page_count, metadata)
VALUES (%(id)s, %(name)s, %(source_path)s, %(sha256)s, %(size_bytes)s, %(page_count)s,
        %(metadata)s)
ON CONFLICT DO NOTHING
RETURNING id

-- name: finish_document
UPDATE docs.documents
SET word_count = (SELECT coalesce(sum(word_count), 0) FROM docs.pages WHERE document_id = %(id)s),
    failed_pages = (SELECT count(*) FROM docs.pages WHERE document_id = %(id)s AND error IS NOT NULL)
WHERE id = %(id)s
