"""The four sources read into staging: each file streamed, each record parsed
into its named record (staged) or a Skip (counted and kept with its reason)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from etl_toolkit.medly.parse import Cleaned, Skip, children, pointer
from etl_toolkit.medly.parse_curriculum import (
    bank_row,
    chunk_row,
    course_rows,
    paper_row,
    paper_set_rows,
    question_rows,
)
from etl_toolkit.medly.parse_user import parse_attempt
from etl_toolkit.medly.records import Subject, User
from etl_toolkit.medly.skips import Skips
from etl_toolkit.medly.source import DataDir, items, targets
from etl_toolkit.medly.staging import Staging
from etl_toolkit.progress import Reporter

R = TypeVar("R", bound=tuple[Any, ...])


class Loader:
    """Reads a data dir's files into the staging tables (the `read` stages of a run)."""

    def __init__(self, dd: DataDir, staging: Staging, skips: Skips, reporter: Reporter) -> None:
        self.dd, self.staging, self.skips, self.reporter = dd, staging, skips, reporter

    def _open(self, path: Path) -> tuple[str, Cleaned]:
        """A file's name in the report (relative to the data dir) and its cleaned counter;
        the file is known to the report even when it holds no record."""
        src = str(path.relative_to(self.dd.root))
        if self.reporter.progress is not None:
            self.reporter.start(src, "read", bytes_total=path.stat().st_size)
        self.skips.accepted(src, 0)
        return src, self.skips.cleaned(src)

    def _keep(self, got: R | Skip, src: str) -> R | None:
        """The record staged and counted, or its skip kept: the record, or None."""
        if isinstance(got, Skip):
            self.skips.add(got, src)
            return None
        self.skips.accepted(src)
        self.staging.add(got)
        return got

    def curriculum(self) -> None:
        for subject in self.dd.subjects:
            path = self.dd.course(subject)
            src, cleaned = self._open(path)
            self.staging.add(Subject(subject, None, None, None, src, priority=1))
            course = course_rows(subject, list(items(path, self.reporter)), src, cleaned)
            self.skips.accepted(src, len(course.units) + len(course.topics) + len(course.lessons))
            for rows in (course.units, course.topics, course.lessons):
                self.staging.extend(rows)
            self.skips.extend(course.skips, src)
            self.reporter.finish()
            self.exams(subject)
            self.practices(subject)

    def _question(
        self,
        q: Any,
        src: str,
        position: str,
        *,
        paper_id: str | None = None,
        bank_lesson: str | None = None,
    ) -> None:
        parsed = question_rows(
            q,
            paper_id=paper_id,
            bank_lesson=bank_lesson,
            source_file=src,
            position=position,
            cleaned=self.skips.cleaned(src),
        )
        if isinstance(parsed, Skip):
            self.skips.add(parsed, src)
            return
        self.skips.accepted(src, 1 + len(parsed.items))
        self.staging.add(parsed.question)
        for rows in (parsed.items, parsed.appearances, parsed.lessons):
            self.staging.extend(rows)
        self.skips.extend(parsed.skips, src)

    def exams(self, subject: str) -> None:
        path = self.dd.exams(subject)
        src, cleaned = self._open(path)
        for i, ps in enumerate(items(path, self.reporter)):
            paper_set = paper_set_rows(ps, subject, src, pointer(i))
            if isinstance(paper_set, Skip):
                self.skips.add(paper_set, src)
                continue
            self.skips.accepted(src)
            self.staging.add(paper_set.subject)
            self.staging.add(paper_set.paper_set)
            key = paper_set.paper_set.paper_set_key
            for j, paper in enumerate(paper_set.papers):
                at = pointer(i, "papers", j)
                row = self._keep(paper_row(paper, key, src, at, cleaned), src)
                if row is None:
                    continue
                for k, q in enumerate(children(paper, "questions")):
                    self._question(q, src, f"{at}/questions/{k}", paper_id=row.paper_id)
        self.reporter.finish()

    def practices(self, subject: str) -> None:
        path = self.dd.practices(subject)
        src, cleaned = self._open(path)
        for i, bank in enumerate(items(path, self.reporter)):
            row = self._keep(bank_row(bank, src, pointer(i), cleaned), src)
            if row is None:
                continue
            lid = row.lesson_id
            for c, chunk in enumerate(children(bank, "chunks_used")):
                self._keep(chunk_row(chunk, lid, src, pointer(i, "chunks_used", c), cleaned), src)
            for k, q in enumerate(children(bank, "items")):
                self._question(q, src, pointer(i, "items", k), bank_lesson=lid)
        self.reporter.finish()

    def user_data(self) -> None:
        src, cleaned = self._open(self.dd.user_data)
        for path, rec in targets(self.dd.user_data, self.reporter):
            row = self._keep(parse_attempt(path, rec, src, cleaned), src)
            if row is not None:
                self.staging.add(User(row.uid, src))
        self.reporter.finish()
