-- Schema medly: the learning platform, from four JSON sources (see
-- shared/formats/medly.md). Natural keys throughout (lessonID, paper_id,
-- question_id, questionID, Firebase uid): they are the stable identities the
-- sources share, and they make re-runs idempotent merges.
--
-- Provenance on every row: the source file it came from, when it was first
-- seen, when it was last seen (moved by every run that sees it again).
CREATE SCHEMA IF NOT EXISTS medly;

CREATE TABLE medly.subjects (
    subject_id    text PRIMARY KEY,
    board         text,
    qualification text,
    title         text,
    source_file   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE medly.units (
    subject_id    text NOT NULL REFERENCES medly.subjects (subject_id),
    unit_index    integer NOT NULL,
    title         text NOT NULL,
    source_file   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject_id, unit_index)
);

CREATE TABLE medly.topics (
    subject_id    text NOT NULL,
    unit_index    integer NOT NULL,
    topic_index   integer NOT NULL,
    title         text NOT NULL,
    source_file   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject_id, unit_index, topic_index),
    FOREIGN KEY (subject_id, unit_index) REFERENCES medly.units (subject_id, unit_index)
);

CREATE TABLE medly.lessons (
    lesson_id     text PRIMARY KEY,
    subject_id    text NOT NULL,
    unit_index    integer NOT NULL,
    topic_index   integer NOT NULL,
    lesson_index  integer NOT NULL,
    title         text NOT NULL,
    source_file   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (subject_id, unit_index, topic_index)
        REFERENCES medly.topics (subject_id, unit_index, topic_index)
);
CREATE INDEX lessons_topic_idx ON medly.lessons (subject_id, unit_index, topic_index, lesson_index);

-- A paper set is identified by its subject, type and series.
CREATE TABLE medly.paper_sets (
    paper_set_key text PRIMARY KEY,
    subject_id    text NOT NULL REFERENCES medly.subjects (subject_id),
    board         text,
    qualification text,
    subject_title text,
    set_type      text,
    series        text,
    source_file   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX paper_sets_subject_idx ON medly.paper_sets (subject_id);

CREATE TABLE medly.papers (
    paper_id      text PRIMARY KEY,
    paper_set_key text NOT NULL REFERENCES medly.paper_sets (paper_set_key),
    tier          text,
    paper_number  text,
    source_file   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX papers_set_idx ON medly.papers (paper_set_key);

-- One practice bank per lesson. lesson_id is the bank's lessonID as given;
-- lesson_resolved says whether the course defines it.
CREATE TABLE medly.practice_banks (
    lesson_id          text PRIMARY KEY,
    original_lesson_id text,
    exam_board         text,
    qualification      text,
    subject            text,
    unit_index         integer,
    unit_title         text,
    topic_index        integer,
    topic_title        text,
    lesson_index       integer,
    lesson_title       text,
    lesson_resolved    boolean NOT NULL,
    source_file        text NOT NULL,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE medly.bank_chunks (
    lesson_id     text NOT NULL REFERENCES medly.practice_banks (lesson_id) ON DELETE CASCADE,
    chunk_index   integer NOT NULL,
    chunk_title   text,
    source_file   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lesson_id, chunk_index)
);

-- A question (stem) belongs to exactly one paper or one practice bank.
CREATE TABLE medly.questions (
    question_id        text PRIMARY KEY,
    paper_id           text REFERENCES medly.papers (paper_id),
    bank_lesson_id     text REFERENCES medly.practice_banks (lesson_id),
    question_number    integer,
    stem               text,
    stem_diagram       jsonb,
    validation_comment text,
    validation_reason  text,
    source_file        text NOT NULL,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(paper_id, bank_lesson_id) = 1)
);
CREATE INDEX questions_paper_idx ON medly.questions (paper_id, question_number);
CREATE INDEX questions_bank_idx ON medly.questions (bank_lesson_id, question_number);

-- An item (question part) keyed by its questionID: the one key attempts, exam
-- items and practice items share. Free-form parts stay JSONB.
CREATE TABLE medly.items (
    question_ref        text PRIMARY KEY,
    question_id         text NOT NULL REFERENCES medly.questions (question_id),
    part                integer,
    question_type       text,
    text                text,
    markmax             integer,
    markscheme          text,
    difficulty          integer,
    options             jsonb,
    correct_answer      jsonb,
    specification_point text,
    diagram             jsonb,
    extra               jsonb,
    source_file         text NOT NULL,
    first_seen_at       timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_question_idx ON medly.items (question_id, part);

-- Where an item appears: one row per paper or practice bank that lists it.
CREATE TABLE medly.item_appearances (
    question_ref    text NOT NULL REFERENCES medly.items (question_ref) ON DELETE CASCADE,
    source_kind     text NOT NULL CHECK (source_kind IN ('paper', 'practice')),
    source_id       text NOT NULL,
    question_id     text NOT NULL,
    question_number integer,
    part            integer,
    source_file     text NOT NULL,
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (question_ref, source_kind, source_id)
);
CREATE INDEX item_appearances_source_idx
    ON medly.item_appearances (source_kind, source_id, question_number, part);

-- Item <-> lesson links, per source kind (an item may assess a lesson through an
-- exam paper and be practised in that lesson's bank: two facts, two rows).
-- lesson_ref is the id as given; lesson_id is set when the course defines it
-- (resolved), NULL otherwise (kept and reported).
CREATE TABLE medly.item_lessons (
    question_ref  text NOT NULL REFERENCES medly.items (question_ref) ON DELETE CASCADE,
    lesson_ref    text NOT NULL,
    lesson_id     text REFERENCES medly.lessons (lesson_id),
    via           text NOT NULL CHECK (via IN ('exam', 'practice')),
    source_file   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (question_ref, lesson_ref, via)
);
CREATE INDEX item_lessons_lesson_idx ON medly.item_lessons (lesson_id, via);
CREATE INDEX item_lessons_ref_idx ON medly.item_lessons (lesson_ref);

-- A Firebase uid is a user's stable identity; name and metadata are edited
-- through the API (the export carries none).
CREATE TABLE medly.users (
    uid           text PRIMARY KEY,
    name          text,
    metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
    source_file   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);

-- One attempt per user, paper and questionID. item_ref is the item when it is
-- known (NULL: an unresolved reference, kept and reported).
CREATE TABLE medly.attempts (
    uid              text NOT NULL REFERENCES medly.users (uid),
    paper_id         text NOT NULL,
    question_ref     text NOT NULL,
    subject_id       text NOT NULL,
    item_ref         text REFERENCES medly.items (question_ref),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz,
    is_marked        boolean NOT NULL,
    user_mark        integer,
    user_answer      text,
    annotated_answer text,
    marking_table    text,
    options          jsonb,
    canvas           jsonb NOT NULL,
    extra            jsonb,
    source_file      text NOT NULL,
    first_seen_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (uid, paper_id, question_ref)
);
CREATE INDEX attempts_activity_idx ON medly.attempts (uid, created_at DESC);
CREATE INDEX attempts_user_item_idx ON medly.attempts (uid, question_ref);
CREATE INDEX attempts_item_idx ON medly.attempts (item_ref);
CREATE INDEX attempts_question_idx ON medly.attempts (question_ref);

-- Records that could not be loaded, with the reason: nothing disappears silently.
CREATE TABLE medly.skipped (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES etl.runs (id),
    source_file text NOT NULL,
    entity      text NOT NULL,
    record_key  text,
    reason      text NOT NULL,
    raw         jsonb,
    seen_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX skipped_run_idx ON medly.skipped (run_id, entity);
