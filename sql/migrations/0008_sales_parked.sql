-- Issue 13, "nothing lost": a reject is stored once per (file content, line),
-- and a row refused only because a row it references does not exist yet (a late
-- arrival) is parked: the loader validates it again when a later file loads
-- what it references, and a parked row that loads leaves sales.rejects.
ALTER TABLE sales.rejects
    ADD COLUMN sha256 text,  -- the file's content (sales.files.sha256)
    ADD COLUMN parked boolean NOT NULL DEFAULT false,
    ADD COLUMN record_id bigint;  -- the row's own id, cleaned (null when not a valid id)

-- Rows stored before: the content of their file, where the ledger tells it
-- (the run that last loaded that path, else the path's only content) ...
UPDATE sales.rejects r SET sha256 = f.sha256
FROM sales.files f
WHERE f.path = r.file AND f.run_id = r.run_id;
UPDATE sales.rejects r SET sha256 = f.sha256
FROM (
    SELECT path, min(sha256) AS sha256 FROM sales.files
    GROUP BY path HAVING count(DISTINCT sha256) = 1
) f
WHERE r.sha256 IS NULL AND f.path = r.file;
-- ... then one row per (content, line), the latest verdict (re-runs stored copies).
DELETE FROM sales.rejects r USING sales.rejects k
WHERE r.sha256 = k.sha256 AND r.line = k.line AND r.id < k.id;
UPDATE sales.rejects SET record_id = btrim(record_key)::bigint
WHERE btrim(record_key) ~ '^\+?[0-9]{1,18}$';

-- Rows refused before only for a reference are parked too (so the orders of an
-- empty customers file come back once the customers arrive), unless their id
-- was loaded since (the table's row is then the newer version).
UPDATE sales.rejects r SET parked = true
WHERE r.record_id IS NOT NULL
  AND r.reasons <@ ARRAY[
      'parent_id: unknown category (or rejected)',
      'category_id: unknown category (or rejected)',
      'customer_id: unknown customer (or rejected)',
      'order_id: unknown order (or rejected)',
      'product_id: unknown product (or rejected)'
  ]::text[]
  AND NOT CASE r.entity
      WHEN 'product_categories' THEN EXISTS (
          SELECT 1 FROM sales.product_categories t WHERE t.category_id = r.record_id)
      WHEN 'products' THEN EXISTS (
          SELECT 1 FROM sales.products t WHERE t.product_id = r.record_id)
      WHEN 'orders' THEN EXISTS (
          SELECT 1 FROM sales.orders t WHERE t.order_id = r.record_id)
      WHEN 'order_items' THEN EXISTS (
          SELECT 1 FROM sales.order_items t WHERE t.order_item_id = r.record_id)
      ELSE true
  END;
-- One parked row per id: the latest.
UPDATE sales.rejects r SET parked = false
WHERE r.parked AND EXISTS (
    SELECT 1 FROM sales.rejects k
    WHERE k.parked AND k.entity = r.entity AND k.record_id = r.record_id AND k.id > r.id
);

ALTER TABLE sales.rejects
    ADD CONSTRAINT rejects_parked_has_id CHECK (NOT parked OR record_id IS NOT NULL);
-- Rows stored before whose content the ledger cannot tell keep a null sha256
-- (distinct for the index); the loader always writes it.
CREATE UNIQUE INDEX rejects_content_line_key ON sales.rejects (sha256, line);
CREATE INDEX rejects_parked_idx ON sales.rejects (entity, record_id) WHERE parked;
