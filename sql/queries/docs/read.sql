-- What the API reads of documents, pages and words (etl_toolkit.pdf.read).

-- name: list_documents
SELECT id, name, sha256, size_bytes, page_count, word_count, failed_pages, metadata, loaded_at,
       count(*) OVER () AS total
FROM docs.documents
ORDER BY loaded_at DESC, id
LIMIT %(limit)s OFFSET %(offset)s

-- name: count_documents
SELECT count(*) AS total FROM docs.documents

-- name: get_document
SELECT id, name, source_path, sha256, size_bytes, page_count, word_count, failed_pages, metadata,
       loaded_at
FROM docs.documents
WHERE id = %(id)s

-- name: document_pages
SELECT page_number, width, height, rotation, word_count, error
FROM docs.pages
WHERE document_id = %(id)s
ORDER BY page_number
LIMIT %(limit)s OFFSET %(offset)s

-- name: document_pages_count
SELECT count(*) AS total FROM docs.pages WHERE document_id = %(id)s

-- name: get_page
SELECT p.page_number, p.width, p.height, p.rotation, p.text, p.word_count, p.error, d.name
FROM docs.pages p
JOIN docs.documents d ON d.id = p.document_id
WHERE p.document_id = %(id)s AND p.page_number = %(page)s

-- name: page_words
SELECT word_index, text, x0, top, x1, bottom
FROM docs.words
WHERE document_id = %(id)s AND page_number = %(page)s
ORDER BY word_index

-- name: search
-- Pages ranked by ts_rank_cd; each with a snippet and the boxes of the words
-- that match (a word matches when it shares a lexeme with the query's text).
WITH q AS (SELECT websearch_to_tsquery('english', %(q)s) AS query,
                  tsvector_to_array(to_tsvector('english', %(q)s)) AS lexemes),
hits AS (
    SELECT p.document_id, p.page_number, p.text, ts_rank_cd(p.tsv, q.query) AS rank,
           count(*) OVER () AS total
    FROM docs.pages p, q
    WHERE p.tsv @@ q.query
    ORDER BY rank DESC, p.document_id, p.page_number
    LIMIT %(limit)s OFFSET %(offset)s
)
SELECT h.document_id, d.name, h.page_number, h.rank, h.total,
       ts_headline('english', h.text, q.query,
                   'MaxFragments=2, MaxWords=25, MinWords=8, StartSel=<<, StopSel=>>') AS snippet,
       coalesce((
           SELECT jsonb_agg(jsonb_build_object('word_index', w.word_index, 'text', w.text,
                                               'x0', w.x0, 'top', w.top, 'x1', w.x1,
                                               'bottom', w.bottom) ORDER BY w.word_index)
           FROM docs.words w
           WHERE w.document_id = h.document_id AND w.page_number = h.page_number
             AND tsvector_to_array(to_tsvector('english', w.text)) && q.lexemes
       ), '[]'::jsonb) AS matches
FROM hits h
JOIN docs.documents d ON d.id = h.document_id
CROSS JOIN q
ORDER BY h.rank DESC, h.document_id, h.page_number

-- name: search_count
-- The number of matching pages when the page is past the end (search's window count has no row).
SELECT count(*) AS total
FROM docs.pages p
WHERE p.tsv @@ websearch_to_tsquery('english', %(q)s)
