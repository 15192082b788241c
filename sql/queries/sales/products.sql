-- Product edits (the GraphQL mutation): lock, check, update, queue its orders.

-- name: lock_product
SELECT product_id, name, description, price, category_id, is_active
FROM sales.products WHERE product_id = %(id)s FOR UPDATE

-- name: category_exists
SELECT 1 FROM sales.product_categories WHERE category_id = %(id)s

-- name: update_product
UPDATE sales.products
SET name = %(name)s, description = %(description)s, price = %(price)s,
    category_id = %(category_id)s, is_active = %(is_active)s
WHERE product_id = %(id)s

-- Before a product changes category: queue the orders that have it.
-- name: affected_by_product
INSERT INTO affected_orders
SELECT DISTINCT order_id FROM sales.order_items WHERE product_id = %(id)s
ON CONFLICT DO NOTHING
