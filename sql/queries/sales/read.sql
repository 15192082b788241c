-- Reads (the GraphQL API, the dashboard) --------------------------------------
-- Some reads are templates: their placeholders in braces (sort key, seek, order,
-- the period's rows, the product filter) are composed in sales/read.py from
-- enums and named fragments, never from input text; values are parameters.

-- name: category_subtree
WITH RECURSIVE tree AS (
    SELECT category_id FROM sales.product_categories WHERE category_id = %(id)s
    UNION ALL
    SELECT c.category_id FROM sales.product_categories c JOIN tree t ON c.parent_id = t.category_id
)
SELECT array_agg(category_id) AS ids FROM tree

-- name: categories
SELECT category_id, name, description, parent_id, root_id, depth
FROM sales.product_categories WHERE category_id = ANY (%(ids)s::int[])

-- name: products
SELECT product_id, name, description, price, cost, category_id, sku, inventory_count,
       weight, created_at, is_active
FROM sales.products WHERE product_id = ANY (%(ids)s::int[])

-- A period's product rows: whole months from the monthly table, the days
-- before and after them from the daily one (bounds: DateRange.params()).
-- name: period_rows
SELECT product_id, orders, units, revenue FROM sales.monthly_product_sales
WHERE month >= %(full_from)s AND month < %(full_to)s
UNION ALL
SELECT product_id, orders, units, revenue FROM sales.daily_product_sales
WHERE (day >= %(head_from)s AND day < %(head_to)s)
   OR (day >= %(tail_from)s AND day < %(tail_to)s)

-- name: product_sales
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
-- name: product_periods
SELECT d.product_id, date_trunc({bucket}, d.day)::date AS period,
       sum(d.orders)::bigint AS orders, sum(d.units)::bigint AS units, sum(d.revenue) AS revenue
FROM sales.daily_product_sales d
WHERE d.product_id = ANY (%(ids)s::int[]) AND d.day BETWEEN %(date_from)s AND %(date_to)s
GROUP BY 1, 2
ORDER BY 1, 2

-- name: customers
SELECT c.customer_id, c.email, c.first_name, c.last_name, c.city, c.state, c.country,
       c.registration_date, c.last_login,
       coalesce(m.order_count, 0) AS order_count, coalesce(m.lifetime_value, 0) AS lifetime_value,
       m.first_order_at, m.last_order_at, coalesce(m.avg_order_value, 0) AS avg_order_value
FROM sales.customers c LEFT JOIN sales.customer_metrics m ON m.customer_id = c.customer_id
WHERE c.customer_id = ANY (%(ids)s::bigint[])

-- A customer's orders, newest first, keyset on (order_date, order_id).
-- name: customer_orders
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

-- name: customer_orders_count
SELECT count(*) AS n
FROM sales.orders o
WHERE o.customer_id = %(customer_id)s
  AND (%(statuses)s::text[] IS NULL OR o.status = ANY (%(statuses)s::text[]))
  AND (%(date_from)s::date IS NULL OR o.order_date >= %(date_from)s::date::timestamptz)
  AND (%(date_to)s::date IS NULL OR o.order_date < (%(date_to)s::date + 1)::timestamptz)
  AND (%(total_min)s::numeric IS NULL OR o.total_amount >= %(total_min)s::numeric)
  AND (%(total_max)s::numeric IS NULL OR o.total_amount <= %(total_max)s::numeric)

-- The items of several orders at once.
-- name: order_items
SELECT order_item_id, order_id, product_id, quantity, price, discount, total, reported_total
FROM sales.order_items WHERE order_id = ANY (%(ids)s::bigint[])
ORDER BY order_id, order_item_id

-- Top products per category for a period: with a category, its subtree is one
-- ranking; without, each category ranks its own products. Keyset on category.
-- name: top_products
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

-- The product_filter part of product_sales, when a filter needs the product row
-- (without one, the join would cost a hash of 100k products for nothing).
-- name: product_filter
JOIN sales.products p ON p.product_id = d.product_id
 AND (%(categories)s::int[] IS NULL OR p.category_id = ANY (%(categories)s::int[]))
 AND (%(price_min)s::numeric IS NULL OR p.price >= %(price_min)s::numeric)
 AND (%(price_max)s::numeric IS NULL OR p.price <= %(price_max)s::numeric)
 AND (%(active)s::boolean IS NULL OR p.is_active = %(active)s::boolean)

-- name: top_products_groups
SELECT count(DISTINCT CASE WHEN %(root)s::int IS NULL THEN p.category_id ELSE %(root)s::int END) AS n
FROM ({period_rows}) d
JOIN sales.products p ON p.product_id = d.product_id
WHERE (%(categories)s::int[] IS NULL OR p.category_id = ANY (%(categories)s::int[]))

-- Revenue, orders, units and average order value per period, with the change
-- from the previous period. Overall from daily_sales; for one category from
-- daily_category_sales (its own products). Keyset on the period.
-- name: trends
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
-- name: recent_orders
-- Orders counted as sales only, as every other figure of the dashboard: a cancelled or
-- returned order is not a sale (issue 16).
SELECT t.order_id, t.customer_id, t.order_date, o.status, t.total_amount, t.revenue
FROM (
    SELECT * FROM sales.order_totals WHERE counted
    ORDER BY order_date DESC, order_id DESC LIMIT %(limit)s
) t
JOIN sales.orders o ON o.order_id = t.order_id AND o.order_date = t.order_date
ORDER BY t.order_date DESC, t.order_id DESC

-- name: top_categories
SELECT c.category_id, c.name, sum(d.revenue) AS revenue, sum(d.units)::bigint AS units
FROM sales.daily_category_sales d
JOIN sales.product_categories c ON c.category_id = d.category_id
WHERE d.day BETWEEN %(date_from)s AND %(date_to)s
GROUP BY c.category_id, c.name
ORDER BY revenue DESC, c.category_id
LIMIT %(limit)s

-- name: data_range
SELECT min(day) AS first_day, max(day) AS last_day FROM sales.daily_sales

-- name: all_categories
SELECT category_id, name, description, parent_id, root_id, depth FROM sales.product_categories
