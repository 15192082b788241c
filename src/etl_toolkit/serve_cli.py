"""`etl serve`: the REST + GraphQL API."""

from __future__ import annotations

from typing import Annotated

import typer


def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(min=1, max=64, help="Worker processes (each answers one request at a time)."),
    ] = 2,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without bearer tokens.")
    ] = False,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow --no-auth on a non-loopback address.")
    ] = False,
) -> None:
    """Serve the API (REST, OpenAPI at /openapi.json, docs at /docs, GraphQL) under granian.

    Refuses to start when auth is on but not configured, and when auth is off on
    a non-loopback address (unless --insecure). SIGHUP restarts the workers
    gracefully; SIGTERM stops.

    Example: `etl serve --no-auth --port 8000`
    """
    from api.serve import ServeOptions, serve

    serve(ServeOptions(host=host, port=port, workers=workers, no_auth=no_auth, insecure=insecure))
