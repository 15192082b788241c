-- The sales load (etl sales): session, file ledger, partitions, merges, rejects
-- and parked rows. Temp tables named stage_<entity> and affected_orders are
-- created by the loader inside the same transaction.

-- name: run_lock
SELECT pg_try_advisory_lock(hashtext('etl-toolkit:sales')) AS locked

-- name: run_unlock
SELECT pg_advisory_unlock(hashtext('etl-toolkit:sales'))

-- name: tune_session
-- For the loader's session: UTC (timestamps without a zone are UTC), commits
-- that do not wait for the WAL flush (a crash loses at most the last file's
-- commit, which the ledger then does not hold either), room for sorts, and
-- index lookups costed as on SSD or in cache (the default random_page_cost 4
-- makes 66k primary-key lookups look dearer than hashing 5M rows).
SELECT set_config('TimeZone', 'UTC', false), set_config('synchronous_commit', 'off', false),
       set_config('work_mem', '256MB', false), set_config('maintenance_work_mem', '512MB', false),
       set_config('random_page_cost', '1.1', false)

-- Bulk loads skip WAL only where this is `minimal` (the report says which).
-- name: wal_level
SELECT current_setting('wal_level') AS wal_level

-- A template: {table} is an allow-listed sales table (load.TRUNCATE,
-- refresh.DERIVED), empty or about to be rebuilt whole.
-- name: truncate
TRUNCATE {table}

-- name: file_loaded
SELECT run_id, loaded_at, path FROM sales.files WHERE sha256 = %(sha256)s

-- name: file_seen
SELECT sha256 FROM sales.files
WHERE abs_path = %(abs_path)s AND bytes = %(bytes)s AND mtime_ns = %(mtime_ns)s
LIMIT 1

-- name: record_file
INSERT INTO sales.files (sha256, entity, path, abs_path, bytes, mtime_ns, rows_read, run_id)
VALUES (%(sha256)s, %(entity)s, %(path)s, %(abs_path)s, %(bytes)s, %(mtime_ns)s,
        %(rows_read)s, %(run_id)s)
ON CONFLICT (sha256) DO UPDATE
SET path = EXCLUDED.path, abs_path = EXCLUDED.abs_path, mtime_ns = EXCLUDED.mtime_ns,
    rows_read = EXCLUDED.rows_read, run_id = EXCLUDED.run_id, loaded_at = now()

-- name: known_product_categories
SELECT k.id FROM unnest(%(ids)s::bigint[]) AS k(id)
WHERE EXISTS (SELECT 1 FROM sales.product_categories t WHERE t.category_id = k.id)

-- name: known_products
SELECT k.id FROM unnest(%(ids)s::bigint[]) AS k(id)
WHERE EXISTS (SELECT 1 FROM sales.products t WHERE t.product_id = k.id)

-- name: known_customers
SELECT k.id FROM unnest(%(ids)s::bigint[]) AS k(id)
WHERE EXISTS (SELECT 1 FROM sales.customers t WHERE t.customer_id = k.id)

-- name: known_orders
SELECT k.id FROM unnest(%(ids)s::bigint[]) AS k(id)
WHERE EXISTS (SELECT 1 FROM sales.orders t WHERE t.order_id = k.id)

-- name: category_parents
SELECT category_id, parent_id FROM sales.product_categories

-- Partitions -----------------------------------------------------------------

-- name: order_partitions
SELECT c.relname AS name
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'sales.orders'::regclass

-- name: default_rows_in_range
SELECT EXISTS (
    SELECT 1 FROM sales.orders_default WHERE order_date >= %(lo)s AND order_date < %(hi)s
) AS present

-- A template: {part}, {lo}, {hi} are composed by the loader (names and bounds it computed).
-- name: create_month_partition
CREATE TABLE sales.{part} PARTITION OF sales.orders FOR VALUES FROM ({lo}) TO ({hi})

-- Template as above: a month whose rows landed in the default partition gets
-- its own partition, the rows moved into it before it is attached.
-- name: split_default_partition
CREATE TABLE sales.{part} (LIKE sales.orders INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
WITH moved AS (
    DELETE FROM sales.orders_default WHERE order_date >= {lo} AND order_date < {hi}
    RETURNING *
)
INSERT INTO sales.{part} SELECT * FROM moved;
ALTER TABLE sales.orders ATTACH PARTITION sales.{part} FOR VALUES FROM ({lo}) TO ({hi})

-- A delivery's orders (stage_orders, one row per id) merged into the partitioned
-- table: rows found by id through order_keys (a PK lookup in one partition;
-- a changed order_date moves the row), changed rows updated, new ids inserted,
-- then the keys. The counts: updated (rowcount), inserted (rowcount).
-- name: merge_orders_update
UPDATE sales.orders t SET
    customer_id = s.customer_id,
    order_date = s.order_date,
    status = s.status,
    payment_method = s.payment_method,
    shipping_address = s.shipping_address,
    shipping_city = s.shipping_city,
    shipping_state = s.shipping_state,
    shipping_zip = s.shipping_zip,
    shipping_country = s.shipping_country,
    processing_date = s.processing_date,
    shipping_date = s.shipping_date,
    delivery_date = s.delivery_date,
    total_amount = s.total_amount,
    run_id = s.run_id
FROM stage_orders s JOIN sales.order_keys k ON k.order_id = s.order_id
WHERE t.order_id = k.order_id AND t.order_date = k.order_date
  AND (t.customer_id, t.order_date, t.status, t.payment_method, t.shipping_address, t.shipping_city, t.shipping_state, t.shipping_zip, t.shipping_country, t.processing_date, t.shipping_date, t.delivery_date, t.total_amount)
      IS DISTINCT FROM
      (s.customer_id, s.order_date, s.status, s.payment_method, s.shipping_address, s.shipping_city, s.shipping_state, s.shipping_zip, s.shipping_country, s.processing_date, s.shipping_date, s.delivery_date, s.total_amount)

-- name: merge_orders_insert
INSERT INTO sales.orders (order_id, customer_id, order_date, status, payment_method, shipping_address, shipping_city, shipping_state, shipping_zip, shipping_country, processing_date, shipping_date, delivery_date, total_amount, run_id)
SELECT order_id, customer_id, order_date, status, payment_method, shipping_address, shipping_city, shipping_state, shipping_zip, shipping_country, processing_date, shipping_date, delivery_date, total_amount, run_id FROM stage_orders s
WHERE NOT EXISTS (SELECT 1 FROM sales.order_keys k WHERE k.order_id = s.order_id)

-- name: merge_order_keys
INSERT INTO sales.order_keys AS k (order_id, order_date)
SELECT order_id, order_date FROM stage_orders
ON CONFLICT (order_id) DO UPDATE SET order_date = EXCLUDED.order_date
WHERE k.order_date <> EXCLUDED.order_date

-- name: stage_count
SELECT count(*) AS n FROM {stage}

-- Planner statistics for a stage table (its size, its values) before the
-- merge's joins: without them a 66k-row stage is planned as 300k and joined by
-- hash over every row of the target.
-- name: analyze_stage
ANALYZE {stage}

-- Merge-path conflicts: a unique value held by another row ------------------

-- name: conflicts_customers
DELETE FROM stage_customers s USING sales.customers t
WHERE t.email = s.email AND t.customer_id <> s.customer_id
RETURNING s._line AS line, s.customer_id::text AS record_key, s._raw AS raw,
          'email: already used by customer ' || t.customer_id AS reason

-- name: conflicts_products
DELETE FROM stage_products s USING sales.products t
WHERE t.sku = s.sku AND t.product_id <> s.product_id
RETURNING s._line AS line, s.product_id::text AS record_key, s._raw AS raw,
          'sku: already used by product ' || t.product_id AS reason

-- Rejects and parked rows ------------------------------------------------------
-- A reject is stored once per (file content, line): processing a content again
-- replaces the verdicts of its earlier processing.

-- name: forget_rejects
DELETE FROM sales.rejects WHERE sha256 = %(sha256)s

-- name: parked_exists
SELECT EXISTS (SELECT 1 FROM sales.rejects WHERE parked AND entity = %(entity)s) AS present

-- Parked rows of other contents (superseded when a file has their id).
-- name: parked_elsewhere
SELECT id, record_id FROM sales.rejects
WHERE parked AND entity = %(entity)s AND sha256 IS DISTINCT FROM %(sha256)s

-- name: forget_parked
DELETE FROM sales.rejects WHERE id = ANY (%(ids)s::bigint[])

-- legacy: parked by migration 0008 (no content recorded); reasons joined by the separator.
-- name: parked_rows
SELECT id, raw::text AS raw, sha256 IS NULL AS legacy,
       array_to_string(reasons, %(sep)s) AS reasons
FROM sales.rejects
WHERE parked AND entity = %(entity)s AND id > %(after)s
  AND sha256 IS DISTINCT FROM %(sha256)s
ORDER BY id
LIMIT %(limit)s

-- The new verdict on parked rows validated again (reasons joined by the separator).
-- name: judge_parked
UPDATE sales.rejects r
SET reasons = string_to_array(u.reasons, %(sep)s), parked = u.parked
FROM unnest(%(ids)s::bigint[], %(reasons)s::text[], %(parked)s::boolean[])
    AS u(id, reasons, parked)
WHERE r.id = u.id
  AND (r.reasons, r.parked) IS DISTINCT FROM (string_to_array(u.reasons, %(sep)s), u.parked)

-- Templates: {stage} is stage_<entity>; in a re-try its _line holds the id of
-- the parked row each staged row came from.
-- name: drop_stage
DROP TABLE IF EXISTS {stage}

-- name: forget_retried
DELETE FROM sales.rejects WHERE id IN (SELECT _line FROM {stage})

-- name: parked_counts
SELECT entity, count(*) AS n FROM sales.rejects WHERE parked GROUP BY entity

-- Category tree: root and depth of every category (cycles are refused by the loader).
-- name: update_category_tree
WITH RECURSIVE tree AS (
    SELECT category_id, category_id AS root_id, 0 AS depth
    FROM sales.product_categories WHERE parent_id IS NULL
    UNION ALL
    SELECT c.category_id, t.root_id, t.depth + 1
    FROM sales.product_categories c JOIN tree t ON c.parent_id = t.category_id
)
UPDATE sales.product_categories c
SET root_id = t.root_id, depth = t.depth
FROM tree t
WHERE c.category_id = t.category_id
  AND (c.root_id, c.depth) IS DISTINCT FROM (t.root_id, t.depth)
