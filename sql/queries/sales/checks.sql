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
