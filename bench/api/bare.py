"""The floor of the server stack: a bare Flask JSON route, served exactly as `etl serve`
serves the API (same server, workers and options), for bench/api to compare against."""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/bare")
    def bare() -> dict[str, object]:
        return {"id": "6f1d1c8e-5c3a-4d4b-9b1e-2f7a9c0e8d31", "status": "completed", "priority": 0}

    return app


def main() -> None:
    from api.serve import ServeOptions, run_server

    port = int(sys.argv[1])
    run_server(create_app, ServeOptions(port=port, no_auth=True))


if __name__ == "__main__":
    main()
