-- Schema docs: PDF documents, their pages and words (etl load-pdf), and the
-- extraction jobs that track each document's processing.
CREATE SCHEMA IF NOT EXISTS docs;

-- One row per distinct file content. The id is derived from the sha256
-- (uuid5), so the same bytes always get the same id, even across --force.
CREATE TABLE docs.documents (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    source_path  text NOT NULL,
    sha256       text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
    page_count   integer NOT NULL CHECK (page_count >= 0),
    word_count   integer NOT NULL DEFAULT 0 CHECK (word_count >= 0),
    failed_pages integer NOT NULL DEFAULT 0 CHECK (failed_pages >= 0),
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
    loaded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_loaded_idx ON docs.documents (loaded_at DESC, id);

-- Width/height in points of the page as displayed (/Rotate applied). No
-- constraint ties words to the page box: real files put text off-page.
CREATE TABLE docs.pages (
    document_id uuid NOT NULL REFERENCES docs.documents (id) ON DELETE CASCADE,
    page_number integer NOT NULL CHECK (page_number >= 1),
    width       double precision NOT NULL,
    height      double precision NOT NULL,
    rotation    smallint NOT NULL CHECK (rotation >= 0 AND rotation < 360),
    text        text NOT NULL DEFAULT '',
    word_count  integer NOT NULL DEFAULT 0 CHECK (word_count >= 0),
    error       text,
    tsv         tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    PRIMARY KEY (document_id, page_number)
);
CREATE INDEX pages_tsv_idx ON docs.pages USING gin (tsv);

-- Boxes in pdfplumber's frame: PDF points, origin at the top left of the page
-- as displayed, y growing downward.
CREATE TABLE docs.words (
    document_id uuid NOT NULL,
    page_number integer NOT NULL,
    word_index  integer NOT NULL CHECK (word_index >= 0),
    text        text NOT NULL,
    x0          double precision NOT NULL,
    top         double precision NOT NULL,
    x1          double precision NOT NULL,
    bottom      double precision NOT NULL,
    PRIMARY KEY (document_id, page_number, word_index),
    FOREIGN KEY (document_id, page_number)
        REFERENCES docs.pages (document_id, page_number) ON DELETE CASCADE
);

-- Extraction jobs: the contract of /extraction-jobs. document_id is the
-- caller's string (a job may be registered before its document exists).
CREATE TABLE docs.extraction_jobs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    document_id   text NOT NULL CHECK (document_id <> ''),
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    priority      smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 10),
    metadata      jsonb,
    error_message text,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX extraction_jobs_created_idx ON docs.extraction_jobs (created_at, id);
CREATE INDEX extraction_jobs_document_idx ON docs.extraction_jobs (document_id, created_at, id);
CREATE INDEX extraction_jobs_status_idx ON docs.extraction_jobs (status, created_at, id);

-- Every status change, appended by a trigger so no write path can forget it.
CREATE TABLE docs.extraction_job_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id        uuid NOT NULL REFERENCES docs.extraction_jobs (id) ON DELETE CASCADE,
    from_status   text,
    to_status     text NOT NULL,
    error_message text,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX extraction_job_events_job_idx ON docs.extraction_job_events (job_id, id);

CREATE FUNCTION docs.log_job_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO docs.extraction_job_events (job_id, from_status, to_status, error_message)
        VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
                NEW.error_message);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER extraction_jobs_status_log
    AFTER INSERT OR UPDATE OF status ON docs.extraction_jobs
    FOR EACH ROW EXECUTE FUNCTION docs.log_job_status();
