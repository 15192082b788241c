-- Schema tasks: media anonymisation. Users upload images and videos to object
-- storage; stateless processors claim tasks, anonymise the requested object
-- classes and report back. Only processing information lives here.
CREATE SCHEMA IF NOT EXISTS tasks;

CREATE TABLE tasks.tasks (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    bucket           text NOT NULL CHECK (bucket <> ''),
    object_key       text NOT NULL CHECK (object_key <> ''),
    media_type       text NOT NULL CHECK (media_type IN ('image', 'video')),
    file_name        text NOT NULL CHECK (file_name <> ''),
    size_bytes       bigint CHECK (size_bytes >= 0),
    object_classes   text[] NOT NULL
                     CHECK (cardinality(object_classes) >= 1
                            AND object_classes <@ ARRAY['face', 'person', 'license_plate',
                                                        'vehicle']::text[]),
    status           text NOT NULL DEFAULT 'new'
                     CHECK (status IN ('new', 'processing', 'processed', 'failed', 'deleted')),
    uploaded_at      timestamptz NOT NULL DEFAULT now(),
    -- The current claim: who holds it, the token a result must carry, until when.
    claimed_by       text,
    claim_token      uuid,
    lease_expires_at timestamptz,
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    processing_started_at  timestamptz,
    processing_finished_at timestamptz,
    processing_ms    bigint CHECK (processing_ms >= 0),
    error            text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((status = 'processing') = (claim_token IS NOT NULL)),
    CHECK (processing_finished_at IS NULL OR processing_started_at IS NOT NULL)
);

-- The queue: the oldest `new` task first; a partial index stays as small as the backlog.
CREATE INDEX tasks_queue_idx ON tasks.tasks (created_at, id) WHERE status = 'new';
-- Claims whose lease ran out (a processor that died) are found by this one.
CREATE INDEX tasks_leases_idx ON tasks.tasks (lease_expires_at) WHERE status = 'processing';
-- Operators' lists by status, in creation order.
CREATE INDEX tasks_status_idx ON tasks.tasks (status, created_at, id);
CREATE INDEX tasks_created_idx ON tasks.tasks (created_at, id);

-- Anonymised objects per class, as the processor reported them.
CREATE TABLE tasks.detections (
    task_id      uuid NOT NULL REFERENCES tasks.tasks (id) ON DELETE CASCADE,
    object_class text NOT NULL CHECK (object_class IN ('face', 'person', 'license_plate',
                                                        'vehicle')),
    anonymised   integer NOT NULL CHECK (anonymised >= 0),
    PRIMARY KEY (task_id, object_class)
);

-- Every status change, appended by a trigger.
CREATE TABLE tasks.task_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id     uuid NOT NULL REFERENCES tasks.tasks (id) ON DELETE CASCADE,
    from_status text,
    to_status   text NOT NULL,
    actor       text,
    detail      text,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX task_events_task_idx ON tasks.task_events (task_id, id);

CREATE FUNCTION tasks.log_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status
       OR NEW.claim_token IS DISTINCT FROM OLD.claim_token THEN
        INSERT INTO tasks.task_events (task_id, from_status, to_status, actor, detail)
        VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
                NEW.claimed_by, NEW.error);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_status_log
    AFTER INSERT OR UPDATE OF status, claim_token ON tasks.tasks
    FOR EACH ROW EXECUTE FUNCTION tasks.log_status();
