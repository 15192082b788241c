"""Database access: connection resolution, migrations, named queries, bulk COPY."""
