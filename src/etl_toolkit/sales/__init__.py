"""E-commerce analytics: sales CSVs into a partitioned schema."""
