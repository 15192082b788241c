"""PDF -> PostgreSQL: documents, pages and every word with its box (pdfminer.six)."""
