"""The Flask app: REST (pydantic + OpenAPI) and GraphQL reads over etl_toolkit."""
