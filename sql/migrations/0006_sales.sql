-- Schema sales: e-commerce analytics from five CSVs (see shared/formats/sales.md).
--
-- Base tables keep the sources' ids as primary keys (a later delivery's row for
-- a known id is an update). orders is partitioned by month of order_date; the
-- loader creates the monthly partitions the data needs (a default partition
-- catches anything written outside the loader).
-- order_items is not partitioned: it keeps a global primary key, so deliveries
-- upsert items by id without knowing which month an item lives in (SOLUTION.md
-- explains the choice). Foreign keys are declared on the small dimension tables;
-- on the two fact tables referential integrity is enforced by the loader (every
-- reference is resolved before COPY) and verified by a data-quality check after
-- every load, because per-row FK triggers would dominate a 25M-row load.
--
-- Every base row records the run that last wrote it (run_id).
CREATE SCHEMA IF NOT EXISTS sales;

CREATE TABLE sales.product_categories (
    category_id integer PRIMARY KEY,
    name        text NOT NULL,
    description text,
    parent_id   integer REFERENCES sales.product_categories (category_id)
                DEFERRABLE INITIALLY DEFERRED,
    created_at  timestamptz,
    -- Maintained by the loader from the tree: the root of the category's tree
    -- and its depth (0 for a root).
    root_id     integer,
    depth       smallint,
    run_id      bigint NOT NULL,
    CHECK (parent_id IS DISTINCT FROM category_id)
);
CREATE INDEX product_categories_parent_idx ON sales.product_categories (parent_id);

CREATE TABLE sales.products (
    product_id      integer PRIMARY KEY,
    name            text NOT NULL,
    description     text,
    price           numeric(12, 2) NOT NULL CHECK (price >= 0),
    cost            numeric(12, 2) CHECK (cost >= 0),
    category_id     integer NOT NULL REFERENCES sales.product_categories (category_id),
    sku             text NOT NULL UNIQUE,
    inventory_count integer CHECK (inventory_count >= 0),
    weight          numeric(10, 2) CHECK (weight >= 0),
    created_at      timestamptz,
    is_active       boolean NOT NULL,
    run_id          bigint NOT NULL
);
CREATE INDEX products_category_idx ON sales.products (category_id);

CREATE TABLE sales.customers (
    customer_id       bigint PRIMARY KEY,
    email             text NOT NULL UNIQUE CHECK (email = lower(email)),
    first_name        text,
    last_name         text,
    street_address    text,
    city              text,
    state             text,
    zip_code          text,
    country           text CHECK (country ~ '^[A-Z]{2}$'),
    phone             text,
    registration_date timestamptz,
    last_login        timestamptz,
    run_id            bigint NOT NULL
);

CREATE TABLE sales.orders (
    order_id         bigint NOT NULL,
    customer_id      bigint NOT NULL,
    order_date       timestamptz NOT NULL,
    status           text NOT NULL CHECK (status IN (
                         'Processing', 'Shipped', 'In Transit', 'Delivered',
                         'Cancelled', 'Returned')),
    payment_method   text CHECK (payment_method IN (
                         'Credit Card', 'PayPal', 'Apple Pay', 'Google Pay', 'Gift Card')),
    shipping_address text,
    shipping_city    text,
    shipping_state   text,
    shipping_zip     text,
    shipping_country text,
    processing_date  timestamptz,
    shipping_date    timestamptz,
    delivery_date    timestamptz,
    -- As reported by the source; the revenue computed from the items is in
    -- sales.order_totals, which flags a mismatch.
    total_amount     numeric(12, 2) NOT NULL CHECK (total_amount >= 0),
    run_id           bigint NOT NULL,
    PRIMARY KEY (order_id, order_date),
    CHECK (processing_date IS NULL OR processing_date >= order_date),
    CHECK (shipping_date IS NULL OR shipping_date >= coalesce(processing_date, order_date)),
    CHECK (delivery_date IS NULL OR delivery_date >= coalesce(shipping_date, processing_date, order_date))
) PARTITION BY RANGE (order_date);
CREATE TABLE sales.orders_default PARTITION OF sales.orders DEFAULT;
-- Purchase history of a customer, newest first.
CREATE INDEX orders_customer_date_idx ON sales.orders (customer_id, order_date DESC);

CREATE TABLE sales.order_items (
    order_item_id  bigint PRIMARY KEY,
    order_id       bigint NOT NULL,
    product_id     integer NOT NULL,
    quantity       integer NOT NULL CHECK (quantity > 0),
    price          numeric(12, 2) NOT NULL CHECK (price >= 0),
    discount       numeric(12, 2) NOT NULL DEFAULT 0
                   CHECK (discount >= 0 AND discount <= price * quantity),
    -- Recomputed, never trusted from the file: price * quantity - discount.
    total          numeric(14, 2) GENERATED ALWAYS AS (price * quantity - discount) STORED,
    -- The file's total when it disagreed with the recomputed one (else null).
    reported_total numeric(14, 2),
    run_id         bigint NOT NULL
);
CREATE INDEX order_items_order_idx ON sales.order_items (order_id);

-- Input files already loaded, by content: `--incremental` skips them. Where a
-- file was read (absolute path, size, mtime) lets the next run skip hashing a
-- file that has not changed since.
CREATE TABLE sales.files (
    sha256     text PRIMARY KEY,
    entity     text NOT NULL,
    path       text NOT NULL,  -- relative to the data dir, as reported
    abs_path   text NOT NULL,
    bytes      bigint NOT NULL,
    mtime_ns   bigint NOT NULL,
    rows_read  bigint NOT NULL,
    run_id     bigint NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_stat_idx ON sales.files (abs_path, bytes, mtime_ns);

-- Every input row that was not loaded, with every reason.
CREATE TABLE sales.rejects (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id     bigint NOT NULL,
    file       text NOT NULL,
    line       bigint NOT NULL,
    entity     text NOT NULL,
    record_key text,
    reasons    text[] NOT NULL CHECK (cardinality(reasons) > 0),
    raw        jsonb NOT NULL
);
CREATE INDEX rejects_run_idx ON sales.rejects (run_id, file, line);

-- Data-quality results, per run.
CREATE TABLE sales.dq_results (
    run_id    bigint NOT NULL,
    check_name text NOT NULL,
    subject   text NOT NULL DEFAULT '',
    severity  text NOT NULL CHECK (severity IN ('error', 'warn')),
    observed  numeric,
    threshold numeric,
    passed    boolean NOT NULL,
    detail    text,
    checked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, check_name, subject)
);

-- Derived data ------------------------------------------------------------
-- An order counts as a sale unless it was cancelled or returned.

-- Business rule 5: the date dimension, covering every order date.
CREATE TABLE sales.dim_date (
    day          date PRIMARY KEY,
    year         smallint NOT NULL,
    quarter      smallint NOT NULL,
    month        smallint NOT NULL,
    day_of_month smallint NOT NULL,
    iso_year     smallint NOT NULL,
    iso_week     smallint NOT NULL,
    day_of_week  smallint NOT NULL,  -- ISO: Monday 1 .. Sunday 7
    is_weekend   boolean NOT NULL,
    week_start   date NOT NULL,
    month_start  date NOT NULL
);

-- Business rule 2: revenue per order (sum of its items' totals), with the
-- reported total and whether they disagree.
CREATE TABLE sales.order_totals (
    order_id     bigint PRIMARY KEY,
    order_date   timestamptz NOT NULL,
    customer_id  bigint NOT NULL,
    counted      boolean NOT NULL,
    items        integer NOT NULL,
    units        integer NOT NULL,
    revenue      numeric(14, 2) NOT NULL,
    total_amount numeric(12, 2) NOT NULL,
    mismatch     boolean NOT NULL
);
CREATE INDEX order_totals_customer_idx ON sales.order_totals (customer_id);
CREATE INDEX order_totals_date_idx ON sales.order_totals (order_date);

-- Business rule 3: customer metrics over counted orders.
CREATE TABLE sales.customer_metrics (
    customer_id     bigint PRIMARY KEY,
    order_count     integer NOT NULL,
    lifetime_value  numeric(14, 2) NOT NULL,
    first_order_at  timestamptz NOT NULL,
    last_order_at   timestamptz NOT NULL,
    avg_order_value numeric(14, 2) NOT NULL
);

-- Business rule 4: daily sales (UTC days) overall, by product, by category
-- (a product's own category). Counted orders only.
CREATE TABLE sales.daily_sales (
    day     date PRIMARY KEY,
    orders  integer NOT NULL,
    units   bigint NOT NULL,
    revenue numeric(16, 2) NOT NULL
);
CREATE TABLE sales.daily_product_sales (
    day        date NOT NULL,
    product_id integer NOT NULL,
    orders     integer NOT NULL,
    units      bigint NOT NULL,
    revenue    numeric(16, 2) NOT NULL,
    PRIMARY KEY (day, product_id)
);
CREATE TABLE sales.daily_category_sales (
    day         date NOT NULL,
    category_id integer NOT NULL,
    orders      integer NOT NULL,
    units       bigint NOT NULL,
    revenue     numeric(16, 2) NOT NULL,
    PRIMARY KEY (day, category_id)
);

-- Pending refresh of derived data. A load registers every order whose
-- contribution to the derived tables may change, with a snapshot of what the
-- derived tables hold for it now (its before-image, per product); the refresh
-- subtracts the snapshot, adds the order's current contribution, and clears
-- the queue, in one transaction. An order already queued keeps its first
-- snapshot (that is what the derived tables still reflect).
CREATE TABLE sales.refresh_orders (
    order_id        bigint PRIMARY KEY,
    run_id          bigint NOT NULL,
    before_day      date,    -- where the derived tables have it now (null: nowhere)
    before_customer bigint
);
CREATE TABLE sales.refresh_before (
    order_id    bigint NOT NULL,
    day         date NOT NULL,
    customer_id bigint NOT NULL,
    product_id  integer NOT NULL,
    category_id integer NOT NULL,
    units       bigint NOT NULL,
    revenue     numeric(16, 2) NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
-- Set by a load that wrote into empty tables: the next refresh rebuilds
-- everything instead of applying the queue.
CREATE TABLE sales.refresh_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    full_rebuild boolean NOT NULL DEFAULT false,
    requested_by bigint
);
INSERT INTO sales.refresh_state DEFAULT VALUES;
