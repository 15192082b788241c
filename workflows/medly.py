"""The learning-platform migration on Flyte; its report is the workflow's output.

pyflyte run workflows/medly.py medly_pipeline --data_dir samples/medly
"""

from __future__ import annotations

from pathlib import Path

from flytekit import task, workflow

from etl_toolkit.medly.pipeline import run_medly
from workflows.common import RETRIES, database, retry_transient


@task(retries=RETRIES)
@retry_transient
def migrate(data_dir: str) -> dict[str, object]:
    """One transaction: a retry after a transient error starts from the same state."""
    return run_medly(database(), Path(data_dir)).body


@workflow
def medly_pipeline(data_dir: str = "samples/medly") -> dict[str, object]:
    return migrate(data_dir=data_dir)
