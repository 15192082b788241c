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
