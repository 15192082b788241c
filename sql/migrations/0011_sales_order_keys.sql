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
