"""GraphiQL at GET /graphql, served from files shipped in the package
(src/api/static/graphiql: GraphiQL 3.8.3, React 18.3.1, their MIT licences):
no network needed. Headers (e.g. `Authorization: Bearer ...`) go in its
headers pane."""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_from_directory

ASSETS = Path(__file__).resolve().parents[1] / "static" / "graphiql"
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>etl-toolkit GraphQL</title>
  <link rel="stylesheet" href="/graphql/assets/graphiql.min.css">
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL...</div>
  <script src="/graphql/assets/react.production.min.js"></script>
  <script src="/graphql/assets/react-dom.production.min.js"></script>
  <script src="/graphql/assets/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: "/graphql" }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{
        fetcher: fetcher,
        defaultEditorToolsVisibility: true,
        defaultQuery: {query!r},
      }})
    );
  </script>
</body>
</html>
"""
EXAMPLE = """# Try: Ctrl-Enter
{
  salesTrends(dates: {from: "2024-01-01", to: "2024-12-31"}, granularity: MONTH) {
    edges { node { period revenue orders averageOrderValue revenueChange } }
  }
}
"""


def explorer_page() -> str:
    return PAGE.format(query=EXAMPLE)


def asset(name: str) -> Response:
    return send_from_directory(ASSETS, name, max_age=86_400)
