-- Monthly product sales: the daily table summed per calendar month. A range
-- of whole months reads ~5x fewer rows (the product ranking of a month went
-- from 270 ms to well under 100 ms at full scale); partial months at either end
-- of a range still come from daily_product_sales. Orders add up exactly: an
-- order is on one day, hence in one month.
CREATE TABLE sales.monthly_product_sales (
    month      date NOT NULL CHECK (month = date_trunc('month', month)::date),
    product_id integer NOT NULL,
    orders     integer NOT NULL,
    units      bigint NOT NULL,
    revenue    numeric(16, 2) NOT NULL,
    PRIMARY KEY (month, product_id)
);

-- A full refresh fills it; until then it mirrors whatever daily data exists.
INSERT INTO sales.monthly_product_sales (month, product_id, orders, units, revenue)
SELECT date_trunc('month', day)::date, product_id, sum(orders), sum(units), sum(revenue)
FROM sales.daily_product_sales
GROUP BY 1, 2;
