-- Schema etl: the toolkit's own bookkeeping. The migration ledger
-- (etl.schema_migrations) is created by the migrator before this file runs.
CREATE SCHEMA IF NOT EXISTS etl;

-- Every pipeline run: what was asked, how it ended, what it counted.
CREATE TABLE etl.runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pipeline    text NOT NULL,
    arguments   jsonb NOT NULL DEFAULT '{}'::jsonb,
    status      text NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    counts      jsonb NOT NULL DEFAULT '{}'::jsonb,
    report      jsonb,
    error       text,
    CHECK ((status = 'running') = (finished_at IS NULL))
);

CREATE INDEX runs_pipeline_started_idx ON etl.runs (pipeline, started_at DESC);
CREATE INDEX runs_started_idx ON etl.runs (started_at DESC);
