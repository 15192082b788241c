"""create_app(): the Flask application, one blueprint per domain."""

from __future__ import annotations

from flask import Flask

from api import auth, dashboard, errors, middleware
from api.db import ApiDatabase
from api.docs import blueprint as docs_blueprint
from api.graphql import blueprint as graphql_blueprint
from api.rest import documents, health, jobs, medly, runs, tasks
from etl_toolkit.config import Settings, get_settings
from etl_toolkit.db.connect import Database, resolve
from etl_toolkit.log import configure_logging


def create_app(settings: Settings | None = None, db: Database | None = None) -> Flask:
    """Build the app. Auth is on unless AUTH_DISABLED=1; misconfigured auth refuses to start."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["etl_db"] = ApiDatabase(
        db or resolve(settings, schema=False), settings.statement_timeout_ms
    )
    errors.register(app)
    middleware.install(app, settings)  # before auth: a CORS preflight has no token
    auth.install(app, settings)
    app.register_blueprint(docs_blueprint())
    app.register_blueprint(health.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(medly.bp)
    app.register_blueprint(runs.bp)
    runs.install_metrics(app, app.extensions["etl_db"])
    app.register_blueprint(graphql_blueprint())
    app.register_blueprint(dashboard.bp)
    return app
