"""/openapi.json and /docs: Swagger UI 5.36.0, shipped in the package
(src/api/static/swagger-ui, from the npm package swagger-ui-dist, with its Apache-2.0
licence), so no network is needed. Swagger UI 4, the version the swagger-ui-bundle
wheel carries, cannot render an OpenAPI 3.1 document; 5 reads 3.1 as generated."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, send_from_directory

from api.auth import public
from api.openapi import build_spec
from etl_toolkit import __version__

ASSETS = Path(__file__).resolve().parent / "static" / "swagger-ui"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>etl-toolkit API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>"""
INIT_JS = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  deepLinking: true, persistAuthorization: true});"""


def blueprint() -> Blueprint:
    bp = Blueprint("docs", __name__)

    def openapi() -> Response:
        spec = current_app.extensions.get("openapi_spec")
        if spec is None:
            spec = build_spec(current_app, title="etl-toolkit API", version=__version__)
            current_app.extensions["openapi_spec"] = spec
        return jsonify(spec)

    def page() -> Response:
        return Response(PAGE, mimetype="text/html")

    def init_js() -> Response:
        return Response(INIT_JS, mimetype="text/javascript")

    def asset(filename: str) -> Response:
        return send_from_directory(ASSETS, filename, max_age=86400)

    for view in (openapi, page, init_js, asset):
        public(view)
    bp.add_url_rule("/openapi.json", "openapi", openapi)
    bp.add_url_rule("/docs", "page", page)
    bp.add_url_rule("/docs/init.js", "init_js", init_js)
    bp.add_url_rule("/docs/assets/<path:filename>", "asset", asset)
    return bp
