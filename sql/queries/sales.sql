-- The sales pipeline (etl sales): loading, partitions, refresh of derived data,
-- data-quality checks. Temp tables named stage_<entity> and affected_orders are
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

-- Refresh queue ----------------------------------------------------------------

-- A file's merge and the re-try of parked rows that it triggers share one
-- transaction: the second use finds the table and empties it (its orders are
-- queued already).
-- name: create_affected
CREATE TEMP TABLE IF NOT EXISTS affected_orders (order_id bigint PRIMARY KEY) ON COMMIT DROP;
TRUNCATE affected_orders

-- name: affected_from_orders
INSERT INTO affected_orders SELECT order_id FROM stage_orders ON CONFLICT DO NOTHING

-- An item moving to another order affects both orders.
-- name: affected_from_items
INSERT INTO affected_orders
SELECT order_id FROM stage_order_items
UNION
SELECT t.order_id FROM sales.order_items t JOIN stage_order_items s USING (order_item_id)
ON CONFLICT DO NOTHING

-- A product moving to another category changes the category sales of every
-- order that has it.
-- name: affected_from_products
INSERT INTO affected_orders
SELECT DISTINCT i.order_id
FROM sales.order_items i
WHERE i.product_id IN (
    SELECT s.product_id FROM stage_products s
    JOIN sales.products t USING (product_id)
    WHERE t.category_id <> s.category_id
)
ON CONFLICT DO NOTHING

-- The before-image of affected orders not queued yet (queued ones keep the
-- image the derived tables still reflect), then the orders themselves.
-- name: queue_before
INSERT INTO sales.refresh_before (order_id, day, customer_id, product_id, category_id, units, revenue)
SELECT o.order_id, (o.order_date AT TIME ZONE 'UTC')::date, o.customer_id, i.product_id,
       p.category_id, sum(i.quantity), sum(i.total)
FROM affected_orders a
JOIN sales.orders_by_id o ON o.order_id = a.order_id
JOIN sales.order_items i ON i.order_id = o.order_id
JOIN sales.products p ON p.product_id = i.product_id
WHERE o.status NOT IN ('Cancelled', 'Returned')
  AND NOT EXISTS (SELECT 1 FROM sales.refresh_orders r WHERE r.order_id = a.order_id)
  AND NOT (SELECT full_rebuild FROM sales.refresh_state)
GROUP BY o.order_id, o.order_date, o.customer_id, i.product_id, p.category_id
ON CONFLICT DO NOTHING

-- An order queued already keeps its before-image, but its row is rewritten
-- (run_id: the last run that touched it), so the queue's digest changes.
-- name: queue_orders
INSERT INTO sales.refresh_orders (order_id, run_id, before_day, before_customer)
SELECT a.order_id, %(run_id)s, (o.order_date AT TIME ZONE 'UTC')::date, o.customer_id
FROM affected_orders a
LEFT JOIN sales.orders_by_id o ON o.order_id = a.order_id
WHERE NOT (SELECT full_rebuild FROM sales.refresh_state)
ON CONFLICT (order_id) DO UPDATE SET run_id = EXCLUDED.run_id

-- name: request_full_rebuild
UPDATE sales.refresh_state SET full_rebuild = true, requested_by = %(run_id)s

-- The refresh queue as one value, to prove a refresh publishes exactly what
-- the checks saw: every queued order with the transaction that last wrote its
-- row (xmin; a load re-queueing an order rewrites it), and the version of the
-- refresh state (a full rebuild requested, or data loaded while one pends).
-- Any load or API change after the checks changes it.
-- name: queue_digest
SELECT md5(concat_ws('|',
    (SELECT xmin::text FROM sales.refresh_state),
    (SELECT string_agg(order_id::text || ':' || xmin::text, ',' ORDER BY order_id)
     FROM sales.refresh_orders)
)) AS digest

-- While a full rebuild pends nothing is queued (the rebuild covers all): a
-- change then writes a new version of the state row instead, for the digest.
-- name: touch_pending_rebuild
UPDATE sales.refresh_state SET full_rebuild = true WHERE full_rebuild

-- Loads and API changes queue orders without the run lock's help (the API
-- takes none): the refresh holds the queue still from its first read to
-- clear_queue. Readers (the checks) are not blocked.
-- name: lock_queue
LOCK TABLE sales.refresh_state, sales.refresh_orders, sales.refresh_before IN EXCLUSIVE MODE

-- name: pending_refresh
SELECT (SELECT full_rebuild FROM sales.refresh_state) AS full_rebuild,
       (SELECT count(*) FROM sales.refresh_orders) AS orders

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

-- Refresh of derived data: full rebuild --------------------------------------

-- name: rebuild_order_totals
TRUNCATE sales.order_totals;
INSERT INTO sales.order_totals
    (order_id, order_date, customer_id, counted, items, units, revenue, total_amount, mismatch)
SELECT o.order_id, o.order_date, o.customer_id, o.status NOT IN ('Cancelled', 'Returned'),
       coalesce(i.items, 0), coalesce(i.units, 0), coalesce(i.revenue, 0), o.total_amount,
       coalesce(i.revenue, 0) <> o.total_amount
FROM sales.orders o
LEFT JOIN (
    SELECT order_id, count(*) AS items, sum(quantity) AS units, sum(total) AS revenue
    FROM sales.order_items GROUP BY order_id
) i ON i.order_id = o.order_id

-- name: rebuild_customer_metrics
TRUNCATE sales.customer_metrics;
INSERT INTO sales.customer_metrics
    (customer_id, order_count, lifetime_value, first_order_at, last_order_at, avg_order_value)
SELECT customer_id, count(*), sum(revenue), min(order_date), max(order_date),
       round(sum(revenue) / count(*), 2)
FROM sales.order_totals WHERE counted
GROUP BY customer_id

-- name: rebuild_daily_sales
TRUNCATE sales.daily_sales;
INSERT INTO sales.daily_sales (day, orders, units, revenue)
SELECT (order_date AT TIME ZONE 'UTC')::date, count(*), sum(units), sum(revenue)
FROM sales.order_totals WHERE counted
GROUP BY 1

-- An order counts once per product and once per category (count DISTINCT:
-- an order may have several lines of one product).
-- name: rebuild_daily_product_sales
TRUNCATE sales.daily_product_sales;
INSERT INTO sales.daily_product_sales (day, product_id, orders, units, revenue)
SELECT (t.order_date AT TIME ZONE 'UTC')::date, i.product_id, count(DISTINCT i.order_id),
       sum(i.quantity), sum(i.total)
FROM sales.order_items i JOIN sales.order_totals t ON t.order_id = i.order_id AND t.counted
GROUP BY 1, 2

-- name: rebuild_monthly_product_sales
TRUNCATE sales.monthly_product_sales;
INSERT INTO sales.monthly_product_sales (month, product_id, orders, units, revenue)
SELECT date_trunc('month', day)::date, product_id, sum(orders), sum(units), sum(revenue)
FROM sales.daily_product_sales
GROUP BY 1, 2

-- name: rebuild_daily_category_sales
TRUNCATE sales.daily_category_sales;
INSERT INTO sales.daily_category_sales (day, category_id, orders, units, revenue)
SELECT (t.order_date AT TIME ZONE 'UTC')::date, p.category_id, count(DISTINCT i.order_id),
       sum(i.quantity), sum(i.total)
FROM sales.order_items i
JOIN sales.order_totals t ON t.order_id = i.order_id AND t.counted
JOIN sales.products p ON p.product_id = i.product_id
GROUP BY 1, 2

-- name: rebuild_dim_date
TRUNCATE sales.dim_date;
INSERT INTO sales.dim_date
SELECT d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d),
       extract(day FROM d), extract(isoyear FROM d), extract(week FROM d),
       extract(isodow FROM d), extract(isodow FROM d) >= 6,
       date_trunc('week', d)::date, date_trunc('month', d)::date
FROM generate_series(
    (SELECT min(order_date AT TIME ZONE 'UTC')::date FROM sales.order_totals),
    (SELECT max(order_date AT TIME ZONE 'UTC')::date FROM sales.order_totals),
    interval '1 day'
) AS g(d)

-- name: product_categories_of_products
SELECT product_id, category_id FROM sales.products

-- name: clear_queue
TRUNCATE sales.refresh_before, sales.refresh_orders;
UPDATE sales.refresh_state SET full_rebuild = false, requested_by = NULL

-- Refresh of derived data: the queued orders only ----------------------------

-- name: queued_after
CREATE TEMP TABLE refresh_after ON COMMIT DROP AS
SELECT o.order_id, (o.order_date AT TIME ZONE 'UTC')::date AS day, o.customer_id,
       i.product_id, p.category_id, sum(i.quantity) AS units, sum(i.total) AS revenue
FROM sales.refresh_orders r
JOIN sales.orders_by_id o ON o.order_id = r.order_id
JOIN sales.order_items i ON i.order_id = o.order_id
JOIN sales.products p ON p.product_id = i.product_id
WHERE o.status NOT IN ('Cancelled', 'Returned')
GROUP BY o.order_id, o.order_date, o.customer_id, i.product_id, p.category_id

-- Derived rows move by (after - before); rows left with no order go.
-- name: apply_product_delta
INSERT INTO sales.daily_product_sales AS t (day, product_id, orders, units, revenue)
SELECT day, product_id, sum(sign), sum(sign * units), sum(sign * revenue)
FROM (
    SELECT day, product_id, 1 AS sign, units, revenue FROM refresh_after
    UNION ALL
    SELECT day, product_id, -1, units, revenue FROM sales.refresh_before
) d
GROUP BY day, product_id
HAVING sum(sign) <> 0 OR sum(sign * units) <> 0 OR sum(sign * revenue) <> 0
ON CONFLICT (day, product_id) DO UPDATE
SET orders = t.orders + EXCLUDED.orders, units = t.units + EXCLUDED.units,
    revenue = t.revenue + EXCLUDED.revenue;
DELETE FROM sales.daily_product_sales t USING sales.refresh_before b
WHERE t.day = b.day AND t.product_id = b.product_id AND t.orders <= 0

-- name: apply_monthly_delta
INSERT INTO sales.monthly_product_sales AS t (month, product_id, orders, units, revenue)
SELECT month, product_id, sum(sign), sum(sign * units), sum(sign * revenue)
FROM (
    SELECT date_trunc('month', day)::date AS month, product_id, 1 AS sign, units, revenue
    FROM refresh_after
    UNION ALL
    SELECT date_trunc('month', day)::date, product_id, -1, units, revenue
    FROM sales.refresh_before
) d
GROUP BY month, product_id
HAVING sum(sign) <> 0 OR sum(sign * units) <> 0 OR sum(sign * revenue) <> 0
ON CONFLICT (month, product_id) DO UPDATE
SET orders = t.orders + EXCLUDED.orders, units = t.units + EXCLUDED.units,
    revenue = t.revenue + EXCLUDED.revenue;
DELETE FROM sales.monthly_product_sales t USING sales.refresh_before b
WHERE t.month = date_trunc('month', b.day)::date AND t.product_id = b.product_id
  AND t.orders <= 0

-- name: apply_category_delta
INSERT INTO sales.daily_category_sales AS t (day, category_id, orders, units, revenue)
SELECT day, category_id, sum(sign), sum(sign * units), sum(sign * revenue)
FROM (
    SELECT day, category_id, 1 AS sign, sum(units) AS units, sum(revenue) AS revenue
    FROM refresh_after GROUP BY order_id, day, category_id
    UNION ALL
    SELECT day, category_id, -1, sum(units), sum(revenue)
    FROM sales.refresh_before GROUP BY order_id, day, category_id
) d
GROUP BY day, category_id
HAVING sum(sign) <> 0 OR sum(sign * units) <> 0 OR sum(sign * revenue) <> 0
ON CONFLICT (day, category_id) DO UPDATE
SET orders = t.orders + EXCLUDED.orders, units = t.units + EXCLUDED.units,
    revenue = t.revenue + EXCLUDED.revenue;
DELETE FROM sales.daily_category_sales t USING sales.refresh_before b
WHERE t.day = b.day AND t.category_id = b.category_id AND t.orders <= 0

-- What the derived tables hold for each queued order now (its row in
-- order_totals), for the deltas of daily_sales.
-- name: totals_before
CREATE TEMP TABLE totals_before ON COMMIT DROP AS
SELECT t.order_id, t.order_date, t.customer_id, t.counted, t.units, t.revenue
FROM sales.refresh_orders r JOIN sales.order_totals t USING (order_id)

-- name: refresh_order_totals
DELETE FROM sales.order_totals t USING sales.refresh_orders r WHERE t.order_id = r.order_id;
INSERT INTO sales.order_totals
    (order_id, order_date, customer_id, counted, items, units, revenue, total_amount, mismatch)
SELECT o.order_id, o.order_date, o.customer_id, o.status NOT IN ('Cancelled', 'Returned'),
       count(i.order_item_id), coalesce(sum(i.quantity), 0), coalesce(sum(i.total), 0),
       o.total_amount, coalesce(sum(i.total), 0) <> o.total_amount
FROM sales.refresh_orders r
JOIN sales.orders_by_id o ON o.order_id = r.order_id
LEFT JOIN sales.order_items i ON i.order_id = o.order_id
GROUP BY o.order_id, o.order_date, o.customer_id, o.status, o.total_amount

-- Customer metrics move by each queued order's (after - before) order_totals
-- row: counts and lifetime values add up, first and last orders widen to the
-- orders that arrive. A counted order that leaves a customer (cancelled,
-- moved to another day or customer) from the edge of its range leaves the
-- new edge unknown: those customers are recomputed from order_totals, as are
-- none of the others (a delivery's 64k customers were a hash over 3M orders).
-- name: refresh_customer_metrics
CREATE TEMP TABLE customer_delta ON COMMIT DROP AS
SELECT customer_id, sum(sign) AS n, sum(sign * revenue) AS ltv,
       min(order_date) FILTER (WHERE sign > 0) AS first_in,
       max(order_date) FILTER (WHERE sign > 0) AS last_in
FROM (
    SELECT t.customer_id, 1 AS sign, t.revenue, t.order_date
    FROM sales.refresh_orders r JOIN sales.order_totals t USING (order_id)
    WHERE t.counted
    UNION ALL
    SELECT customer_id, -1, revenue, order_date FROM totals_before WHERE counted
) d
GROUP BY customer_id;
CREATE TEMP TABLE customer_recount ON COMMIT DROP AS
SELECT DISTINCT b.customer_id
FROM totals_before b
JOIN sales.customer_metrics m ON m.customer_id = b.customer_id
JOIN sales.order_totals a ON a.order_id = b.order_id
WHERE b.counted
  AND b.order_date IN (m.first_order_at, m.last_order_at)
  AND NOT (a.counted AND a.customer_id = b.customer_id AND a.order_date = b.order_date);
UPDATE sales.customer_metrics m
SET order_count = m.order_count + d.n,
    lifetime_value = m.lifetime_value + d.ltv,
    first_order_at = least(m.first_order_at, d.first_in),
    last_order_at = greatest(m.last_order_at, d.last_in),
    avg_order_value = round((m.lifetime_value + d.ltv) / (m.order_count + d.n), 2)
FROM customer_delta d
WHERE m.customer_id = d.customer_id
  AND m.order_count + d.n > 0
  AND (d.n <> 0 OR d.ltv <> 0 OR d.first_in < m.first_order_at OR d.last_in > m.last_order_at)
  AND NOT EXISTS (SELECT 1 FROM customer_recount c WHERE c.customer_id = d.customer_id);
DELETE FROM sales.customer_metrics m USING customer_delta d
WHERE m.customer_id = d.customer_id AND m.order_count + d.n <= 0;
-- A customer with no row had no counted order: the delta is all of them.
INSERT INTO sales.customer_metrics
    (customer_id, order_count, lifetime_value, first_order_at, last_order_at, avg_order_value)
SELECT d.customer_id, d.n, d.ltv, d.first_in, d.last_in, round(d.ltv / d.n, 2)
FROM customer_delta d
WHERE d.n > 0
  AND NOT EXISTS (SELECT 1 FROM sales.customer_metrics m WHERE m.customer_id = d.customer_id)
  AND NOT EXISTS (SELECT 1 FROM customer_recount c WHERE c.customer_id = d.customer_id);
DELETE FROM sales.customer_metrics m USING customer_recount c WHERE m.customer_id = c.customer_id;
INSERT INTO sales.customer_metrics
    (customer_id, order_count, lifetime_value, first_order_at, last_order_at, avg_order_value)
SELECT t.customer_id, count(*), sum(t.revenue), min(t.order_date), max(t.order_date),
       round(sum(t.revenue) / count(*), 2)
FROM customer_recount c JOIN sales.order_totals t ON t.customer_id = c.customer_id
WHERE t.counted
GROUP BY t.customer_id

-- Daily totals move by (after - before) per queued order: its order_totals
-- row before refresh_order_totals (totals_before) and after it. A day left with
-- no counted order goes.
-- name: refresh_daily_sales
CREATE TEMP TABLE day_delta ON COMMIT DROP AS
SELECT day, sum(sign) AS orders, sum(sign * units) AS units, sum(sign * revenue) AS revenue
FROM (
    SELECT (t.order_date AT TIME ZONE 'UTC')::date AS day, 1 AS sign, t.units, t.revenue
    FROM sales.refresh_orders r JOIN sales.order_totals t USING (order_id)
    WHERE t.counted
    UNION ALL
    SELECT (order_date AT TIME ZONE 'UTC')::date, -1, units, revenue
    FROM totals_before WHERE counted
) d
GROUP BY day;
INSERT INTO sales.daily_sales AS s (day, orders, units, revenue)
SELECT day, orders, units, revenue FROM day_delta
WHERE orders <> 0 OR units <> 0 OR revenue <> 0
ON CONFLICT (day) DO UPDATE
SET orders = s.orders + EXCLUDED.orders, units = s.units + EXCLUDED.units,
    revenue = s.revenue + EXCLUDED.revenue;
DELETE FROM sales.daily_sales s USING day_delta d WHERE s.day = d.day AND s.orders <= 0;
-- Every day a queued order was or is on, counted or not (dim_date covers them all).
CREATE TEMP TABLE affected_days ON COMMIT DROP AS
SELECT before_day AS day FROM sales.refresh_orders WHERE before_day IS NOT NULL
UNION
SELECT (t.order_date AT TIME ZONE 'UTC')::date
FROM sales.refresh_orders r JOIN sales.order_totals t USING (order_id);
INSERT INTO sales.dim_date
SELECT d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d),
       extract(day FROM d), extract(isoyear FROM d), extract(week FROM d),
       extract(isodow FROM d), extract(isodow FROM d) >= 6,
       date_trunc('week', d)::date, date_trunc('month', d)::date
FROM generate_series(
    (SELECT least(min(day), (SELECT min(day) FROM sales.dim_date)) FROM affected_days),
    (SELECT greatest(max(day), (SELECT max(day) FROM sales.dim_date)) FROM affected_days),
    interval '1 day'
) AS g(d)
ON CONFLICT (day) DO NOTHING

-- Data-quality checks ------------------------------------------------------------
-- Scope: every order not yet reflected in the derived tables (the refresh
-- queue), or everything when a full rebuild is pending (%(full)s).

-- name: dq_scope
SELECT (SELECT full_rebuild FROM sales.refresh_state) AS full,
       (SELECT count(*) FROM sales.refresh_orders) AS queued

-- name: dq_integrity
SELECT
  (SELECT count(*) FROM sales.order_items i
    WHERE NOT EXISTS (SELECT 1 FROM sales.orders o WHERE o.order_id = i.order_id))
    AS items_without_order,
  (SELECT count(*) FROM sales.order_items i
    WHERE NOT EXISTS (SELECT 1 FROM sales.products p WHERE p.product_id = i.product_id))
    AS items_without_product,
  (SELECT count(*) FROM sales.orders o
    WHERE NOT EXISTS (SELECT 1 FROM sales.customers c WHERE c.customer_id = o.customer_id))
    AS orders_without_customer

-- The same over the queue: orders found by id through order_keys (a key whose
-- row is gone from sales.orders counts as missing).
-- name: dq_integrity_queued
SELECT
  (SELECT count(*) FROM sales.refresh_orders r
    JOIN sales.order_items i ON i.order_id = r.order_id
    LEFT JOIN sales.orders_by_id o ON o.order_id = i.order_id
    WHERE o.order_id IS NULL)
    AS items_without_order,
  (SELECT count(*) FROM sales.refresh_orders r
    JOIN sales.order_items i ON i.order_id = r.order_id
    WHERE NOT EXISTS (SELECT 1 FROM sales.products p WHERE p.product_id = i.product_id))
    AS items_without_product,
  (SELECT count(*) FROM sales.refresh_orders r
    JOIN sales.orders_by_id o ON o.order_id = r.order_id
    WHERE NOT EXISTS (SELECT 1 FROM sales.customers c WHERE c.customer_id = o.customer_id))
    AS orders_without_customer

-- name: dq_orders
WITH sums AS (
    SELECT i.order_id, sum(i.total) AS revenue, count(*) FILTER (WHERE i.total < 0) AS negative
    FROM sales.order_items i
    GROUP BY i.order_id
)
SELECT count(*) AS orders,
       count(*) FILTER (WHERE coalesce(s.revenue, 0) <> o.total_amount) AS total_mismatch,
       coalesce(sum(s.negative), 0) AS negative_lines,
       count(*) - count(DISTINCT o.order_id) AS duplicate_ids
FROM sales.orders o LEFT JOIN sums s ON s.order_id = o.order_id

-- Over the queue. Duplicate ids are counted in the full scope only: finding
-- every row of an id is a scan of every partition, and the loader cannot write
-- one (an id's row is inserted only when order_keys lacks it).
-- name: dq_orders_queued
WITH scoped AS (
    SELECT o.order_id, o.total_amount
    FROM sales.refresh_orders r JOIN sales.orders_by_id o ON o.order_id = r.order_id
), sums AS (
    SELECT i.order_id, sum(i.total) AS revenue, count(*) FILTER (WHERE i.total < 0) AS negative
    FROM sales.refresh_orders r JOIN sales.order_items i ON i.order_id = r.order_id
    GROUP BY i.order_id
)
SELECT count(*) AS orders,
       count(*) FILTER (WHERE coalesce(s.revenue, 0) <> o.total_amount) AS total_mismatch,
       coalesce(sum(s.negative), 0) AS negative_lines,
       0 AS duplicate_ids
FROM scoped o LEFT JOIN sums s ON s.order_id = o.order_id

-- name: dq_freshness
SELECT max(order_date) AS newest,
       extract(epoch FROM now() - max(order_date)) / 86400 AS age_days
FROM sales.orders

-- name: dq_record
INSERT INTO sales.dq_results
    (run_id, check_name, subject, severity, observed, threshold, passed, detail)
VALUES (%(run_id)s, %(check_name)s, %(subject)s, %(severity)s, %(observed)s,
        %(threshold)s, %(passed)s, %(detail)s)
ON CONFLICT (run_id, check_name, subject) DO UPDATE
SET severity = EXCLUDED.severity, observed = EXCLUDED.observed,
    threshold = EXCLUDED.threshold, passed = EXCLUDED.passed, detail = EXCLUDED.detail,
    checked_at = now()

-- name: dq_results
SELECT check_name, subject, severity, observed, threshold, passed, detail
FROM sales.dq_results WHERE run_id = %(run_id)s
ORDER BY passed, severity, check_name, subject

-- After a full rebuild, outside its transaction: planner statistics, and the
-- visibility map and hint bits set now rather than by autovacuum in the middle
-- of the next delivery's refresh.
-- name: vacuum_analyze
VACUUM (ANALYZE) sales.product_categories, sales.products, sales.customers, sales.orders,
        sales.order_items, sales.order_totals, sales.customer_metrics, sales.daily_sales,
        sales.daily_product_sales, sales.daily_category_sales, sales.dim_date

-- A full rebuild groups tens of millions of rows: room for its hash tables
-- (this transaction only).
-- name: tune_rebuild
SELECT set_config('work_mem', '1GB', true)

-- Reads (the GraphQL API, the dashboard) --------------------------------------
-- Some reads are templates: their placeholders in braces (sort key, seek, order,
-- the period's rows, the product filter) are composed in sales/read.py from
-- enums and named fragments, never from input text; values are parameters.

-- name: api_category_subtree
WITH RECURSIVE tree AS (
    SELECT category_id FROM sales.product_categories WHERE category_id = %(id)s
    UNION ALL
    SELECT c.category_id FROM sales.product_categories c JOIN tree t ON c.parent_id = t.category_id
)
SELECT array_agg(category_id) AS ids FROM tree

-- name: api_categories
SELECT category_id, name, description, parent_id, root_id, depth
FROM sales.product_categories WHERE category_id = ANY (%(ids)s::int[])

-- name: api_products
SELECT product_id, name, description, price, cost, category_id, sku, inventory_count,
       weight, created_at, is_active
FROM sales.products WHERE product_id = ANY (%(ids)s::int[])

-- A period's product rows: whole months from the monthly table, the days
-- before and after them from the daily one (bounds: DateRange.params()).
-- name: api_period_rows
SELECT product_id, orders, units, revenue FROM sales.monthly_product_sales
WHERE month >= %(full_from)s AND month < %(full_to)s
UNION ALL
SELECT product_id, orders, units, revenue FROM sales.daily_product_sales
WHERE (day >= %(head_from)s AND day < %(head_to)s)
   OR (day >= %(tail_from)s AND day < %(tail_to)s)

-- name: api_product_sales
WITH agg AS (
    SELECT d.product_id, sum(d.orders)::bigint AS orders, sum(d.units)::bigint AS units,
           sum(d.revenue) AS revenue
    FROM ({period_rows}) d
    {product_filter}
    WHERE (%(products)s::int[] IS NULL OR d.product_id = ANY (%(products)s::int[]))
    GROUP BY d.product_id
), keyed AS (
    SELECT a.*, {key} AS sort_key, count(*) OVER () AS total_count FROM agg a
)
SELECT k.product_id, k.orders, k.units, k.revenue, k.sort_key, k.total_count
FROM keyed k
WHERE {seek}
ORDER BY {order}
LIMIT %(limit)s

-- The periods of several products at once (no query per product).
-- name: api_product_periods
SELECT d.product_id, date_trunc({bucket}, d.day)::date AS period,
       sum(d.orders)::bigint AS orders, sum(d.units)::bigint AS units, sum(d.revenue) AS revenue
FROM sales.daily_product_sales d
WHERE d.product_id = ANY (%(ids)s::int[]) AND d.day BETWEEN %(date_from)s AND %(date_to)s
GROUP BY 1, 2
ORDER BY 1, 2

-- name: api_customers
SELECT c.customer_id, c.email, c.first_name, c.last_name, c.city, c.state, c.country,
       c.registration_date, c.last_login,
       coalesce(m.order_count, 0) AS order_count, coalesce(m.lifetime_value, 0) AS lifetime_value,
       m.first_order_at, m.last_order_at, coalesce(m.avg_order_value, 0) AS avg_order_value
FROM sales.customers c LEFT JOIN sales.customer_metrics m ON m.customer_id = c.customer_id
WHERE c.customer_id = ANY (%(ids)s::bigint[])

-- A customer's orders, newest first, keyset on (order_date, order_id).
-- name: api_customer_orders
SELECT o.order_id, o.customer_id, o.order_date, o.status, o.payment_method, o.total_amount,
       o.shipping_city, o.shipping_state, o.processing_date, o.shipping_date, o.delivery_date,
       t.revenue, t.items, t.units
FROM sales.orders o LEFT JOIN sales.order_totals t ON t.order_id = o.order_id
WHERE o.customer_id = %(customer_id)s
  AND (%(statuses)s::text[] IS NULL OR o.status = ANY (%(statuses)s::text[]))
  AND (%(date_from)s::date IS NULL OR o.order_date >= %(date_from)s::date::timestamptz)
  AND (%(date_to)s::date IS NULL OR o.order_date < (%(date_to)s::date + 1)::timestamptz)
  AND (%(total_min)s::numeric IS NULL OR o.total_amount >= %(total_min)s::numeric)
  AND (%(total_max)s::numeric IS NULL OR o.total_amount <= %(total_max)s::numeric)
  AND (%(after_date)s::timestamptz IS NULL
       OR (o.order_date, o.order_id) < (%(after_date)s::timestamptz, %(after_id)s::bigint))
ORDER BY o.order_date DESC, o.order_id DESC
LIMIT %(limit)s

-- name: api_customer_orders_count
SELECT count(*) AS n
FROM sales.orders o
WHERE o.customer_id = %(customer_id)s
  AND (%(statuses)s::text[] IS NULL OR o.status = ANY (%(statuses)s::text[]))
  AND (%(date_from)s::date IS NULL OR o.order_date >= %(date_from)s::date::timestamptz)
  AND (%(date_to)s::date IS NULL OR o.order_date < (%(date_to)s::date + 1)::timestamptz)
  AND (%(total_min)s::numeric IS NULL OR o.total_amount >= %(total_min)s::numeric)
  AND (%(total_max)s::numeric IS NULL OR o.total_amount <= %(total_max)s::numeric)

-- The items of several orders at once.
-- name: api_order_items
SELECT order_item_id, order_id, product_id, quantity, price, discount, total, reported_total
FROM sales.order_items WHERE order_id = ANY (%(ids)s::bigint[])
ORDER BY order_id, order_item_id

-- Top products per category for a period: with a category, its subtree is one
-- ranking; without, each category ranks its own products. Keyset on category.
-- name: api_top_products
WITH d AS ({period_rows}), grouped AS (
    SELECT CASE WHEN %(root)s::int IS NULL THEN p.category_id ELSE %(root)s::int END AS grp,
           d.product_id, d.orders, d.units, d.revenue
    FROM d JOIN sales.products p ON p.product_id = d.product_id
    WHERE (%(categories)s::int[] IS NULL OR p.category_id = ANY (%(categories)s::int[]))
), groups AS (
    -- The page's categories first: only their products are aggregated and ranked.
    SELECT DISTINCT grp FROM grouped
    WHERE %(after_category)s::int IS NULL OR grp > %(after_category)s::int
    ORDER BY grp LIMIT %(limit)s
), agg AS (
    SELECT g.grp, x.product_id, sum(x.orders)::bigint AS orders, sum(x.units)::bigint AS units,
           sum(x.revenue) AS revenue
    FROM grouped x JOIN groups g ON g.grp = x.grp
    GROUP BY 1, 2
), ranked AS (
    SELECT a.*, row_number() OVER (PARTITION BY grp ORDER BY {key} DESC, product_id) AS rank
    FROM agg a
)
SELECT r.grp AS category_id, r.rank, r.product_id, r.orders, r.units, r.revenue
FROM ranked r
WHERE r.rank <= %(per_category)s
ORDER BY r.grp, r.rank

-- The product_filter part of api_product_sales, when a filter needs the product row
-- (without one, the join would cost a hash of 100k products for nothing).
-- name: api_product_filter
JOIN sales.products p ON p.product_id = d.product_id
 AND (%(categories)s::int[] IS NULL OR p.category_id = ANY (%(categories)s::int[]))
 AND (%(price_min)s::numeric IS NULL OR p.price >= %(price_min)s::numeric)
 AND (%(price_max)s::numeric IS NULL OR p.price <= %(price_max)s::numeric)
 AND (%(active)s::boolean IS NULL OR p.is_active = %(active)s::boolean)

-- name: api_top_products_groups
SELECT count(DISTINCT CASE WHEN %(root)s::int IS NULL THEN p.category_id ELSE %(root)s::int END) AS n
FROM ({period_rows}) d
JOIN sales.products p ON p.product_id = d.product_id
WHERE (%(categories)s::int[] IS NULL OR p.category_id = ANY (%(categories)s::int[]))

-- Revenue, orders, units and average order value per period, with the change
-- from the previous period. Overall from daily_sales; for one category from
-- daily_category_sales (its own products). Keyset on the period.
-- name: api_trends
WITH base AS (
    SELECT date_trunc({bucket}, day)::date AS period, sum(orders)::bigint AS orders,
           sum(units)::bigint AS units, sum(revenue) AS revenue
    FROM sales.daily_sales
    WHERE %(category)s::int IS NULL AND day BETWEEN %(date_from)s AND %(date_to)s
    GROUP BY 1
    UNION ALL
    SELECT date_trunc({bucket}, day)::date, sum(orders)::bigint, sum(units)::bigint, sum(revenue)
    FROM sales.daily_category_sales
    WHERE category_id = %(category)s::int AND day BETWEEN %(date_from)s AND %(date_to)s
    GROUP BY 1
), changes AS (
    SELECT period, orders, units, revenue,
           round(revenue / nullif(orders, 0), 2) AS average_order_value,
           lag(revenue) OVER (ORDER BY period) AS previous_revenue,
           lag(orders) OVER (ORDER BY period) AS previous_orders,
           count(*) OVER () AS total_count
    FROM base
)
SELECT * FROM changes
WHERE %(after)s::date IS NULL OR period > %(after)s::date
ORDER BY period
LIMIT %(limit)s

-- Newest first through order_totals' date index (orders has none on the date
-- alone: its partitions already prune by date).
-- name: api_recent_orders
-- Orders counted as sales only, as every other figure of the dashboard: a cancelled or
-- returned order is not a sale (issue 16).
SELECT t.order_id, t.customer_id, t.order_date, o.status, t.total_amount, t.revenue
FROM (
    SELECT * FROM sales.order_totals WHERE counted
    ORDER BY order_date DESC, order_id DESC LIMIT %(limit)s
) t
JOIN sales.orders o ON o.order_id = t.order_id AND o.order_date = t.order_date
ORDER BY t.order_date DESC, t.order_id DESC

-- name: api_top_categories
SELECT c.category_id, c.name, sum(d.revenue) AS revenue, sum(d.units)::bigint AS units
FROM sales.daily_category_sales d
JOIN sales.product_categories c ON c.category_id = d.category_id
WHERE d.day BETWEEN %(date_from)s AND %(date_to)s
GROUP BY c.category_id, c.name
ORDER BY revenue DESC, c.category_id
LIMIT %(limit)s

-- name: api_data_range
SELECT min(day) AS first_day, max(day) AS last_day FROM sales.daily_sales

-- name: api_lock_product
SELECT product_id, name, description, price, category_id, is_active
FROM sales.products WHERE product_id = %(id)s FOR UPDATE

-- name: api_category_exists
SELECT 1 FROM sales.product_categories WHERE category_id = %(id)s

-- name: api_update_product
UPDATE sales.products
SET name = %(name)s, description = %(description)s, price = %(price)s,
    category_id = %(category_id)s, is_active = %(is_active)s
WHERE product_id = %(id)s

-- Before a product changes category: queue the orders that have it.
-- name: api_affected_by_product
INSERT INTO affected_orders
SELECT DISTINCT order_id FROM sales.order_items WHERE product_id = %(id)s
ON CONFLICT DO NOTHING

-- name: api_all_categories
SELECT category_id, name, description, parent_id, root_id, depth FROM sales.product_categories
