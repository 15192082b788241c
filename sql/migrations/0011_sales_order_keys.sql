-- Issue 15: a global order_id -> order_date lookup. sales.orders is partitioned
-- by order_date, so finding an order by its id alone visits every monthly
-- partition (a delivery's 66k status changes scanned 5M orders several times).
-- The loader keeps this table in step with sales.orders, in the same
-- transaction; statements that look orders up by id go through it to the one
-- partition that holds the row.
CREATE TABLE sales.order_keys (
    order_id   bigint PRIMARY KEY,
    order_date timestamptz NOT NULL
);
INSERT INTO sales.order_keys (order_id, order_date)
SELECT order_id, order_date FROM sales.orders
ON CONFLICT (order_id) DO NOTHING;

-- Orders found by id: the key, then the one partition's primary key. LIMIT 1
-- keeps the planner from flattening the lookup into a join over every
-- partition (a nested loop prunes to one partition per id at run time). For
-- a few ids (the refresh queue, a delivery), not for scans of all orders.
CREATE VIEW sales.orders_by_id AS
SELECT k.order_id, -- the key's column, so a join on order_id drives the key's index
       o.customer_id,
       o.order_date,
       o.status,
       o.payment_method,
       o.shipping_address,
       o.shipping_city,
       o.shipping_state,
       o.shipping_zip,
       o.shipping_country,
       o.processing_date,
       o.shipping_date,
       o.delivery_date,
       o.total_amount,
       o.run_id
FROM sales.order_keys k
CROSS JOIN LATERAL (
    SELECT * FROM sales.orders o
    WHERE o.order_id = k.order_id AND o.order_date = k.order_date
    LIMIT 1
) o;
