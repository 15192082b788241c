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
