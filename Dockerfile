# syntax=docker/dockerfile:1.7
# One image runs the API or any pipeline: the entrypoint is the `etl` console script.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY requirements.lock ./
RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install -r requirements.lock
COPY pyproject.toml README.md ./
COPY sql ./sql
COPY src ./src
RUN /opt/venv/bin/pip install --no-deps .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 ETL_HOME=/var/lib/etl
RUN useradd --create-home --uid 10001 etl && mkdir -p /var/lib/etl && chown etl /var/lib/etl
COPY --from=build /opt/venv /opt/venv
COPY samples /opt/etl/samples
WORKDIR /opt/etl
USER etl
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"
ENTRYPOINT ["etl"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
