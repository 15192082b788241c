-- Anchors of bench/sales: the five CSVs as they are, in text tables without
-- index or constraint (the physical floor of a load).

-- name: create_product_categories
CREATE TABLE bare_product_categories (
    category_id text,
    name text,
    description text,
    parent_id text,
    created_at text
)

-- name: copy_product_categories
COPY bare_product_categories FROM STDIN (FORMAT csv, HEADER true)

-- name: create_products
CREATE TABLE bare_products (
    product_id text,
    name text,
    description text,
    price text,
    cost text,
    category_id text,
    sku text,
    inventory_count text,
    weight text,
    created_at text,
    is_active text
)

-- name: copy_products
COPY bare_products FROM STDIN (FORMAT csv, HEADER true)

-- name: create_customers
CREATE TABLE bare_customers (
    customer_id text,
    email text,
    first_name text,
    last_name text,
    street_address text,
    city text,
    state text,
    zip_code text,
    country text,
    phone text,
    registration_date text,
    last_login text
)

-- name: copy_customers
COPY bare_customers FROM STDIN (FORMAT csv, HEADER true)

-- name: create_orders
CREATE TABLE bare_orders (
    order_id text,
    customer_id text,
    order_date text,
    status text,
    payment_method text,
    shipping_address text,
    shipping_city text,
    shipping_state text,
    shipping_zip text,
    shipping_country text,
    processing_date text,
    shipping_date text,
    delivery_date text,
    total_amount text
)

-- name: copy_orders
COPY bare_orders FROM STDIN (FORMAT csv, HEADER true)

-- name: create_order_items
CREATE TABLE bare_order_items (
    order_item_id text,
    order_id text,
    product_id text,
    quantity text,
    price text,
    discount text,
    total text
)

-- name: copy_order_items
COPY bare_order_items FROM STDIN (FORMAT csv, HEADER true)

-- name: truncate_bare
TRUNCATE bare_product_categories, bare_products, bare_customers, bare_orders, bare_order_items

-- name: drop_bare
DROP TABLE bare_product_categories, bare_products, bare_customers, bare_orders, bare_order_items
