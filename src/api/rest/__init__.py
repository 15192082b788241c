"""REST blueprints, one per domain."""
