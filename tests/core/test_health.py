"""etl_toolkit.health: one rule for ok / degraded / down, served by GraphQL as by REST."""

from __future__ import annotations

from api.app import create_app
from etl_toolkit import health
from etl_toolkit.config import Settings
from etl_toolkit.db import migrate
from etl_toolkit.db.connect import Database


def test_status_follows_reachability_and_migrations(empty_db: Database) -> None:
    assert health.check(empty_db).status == "degraded"
    migrate.migrate(empty_db)
    assert health.check(empty_db).status == "ok"
    gone = Database("postgresql://nobody@127.0.0.1:1/none", "external")
    down = health.check(gone, timeout_s=1)
    assert (down.status, down.reachable) == ("down", False)


def test_graphql_health_says_the_same(empty_db: Database) -> None:
    app = create_app(Settings(auth_disabled=True), empty_db)
    try:
        ask = {"query": "{ health { status migrationsPending databaseReachable } }"}
        body = app.test_client().post("/graphql", json=ask).get_json()
        assert body["data"]["health"]["status"] == "degraded"
        assert body["data"]["health"]["migrationsPending"] > 0
    finally:
        app.extensions["etl_db"].close()
