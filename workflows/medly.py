"""The learning-platform migration on Flyte; its report is the workflow's output.

pyflyte run workflows/medly.py medly_pipeline --data_dir samples/medly
"""

from __future__ import annotations

from pathlib import Path

from flytekit import task, workflow

from etl_toolkit.medly.load import migrate_medly, report_dict
from workflows.common import RETRIES, database, retry_transient


@task(retries=RETRIES)
@retry_transient
def migrate(data_dir: str) -> dict[str, object]:
    """One transaction: a retry after a transient error starts from the same state."""
    r = migrate_medly(database(), Path(data_dir))
    return report_dict(r) | {"run_id": r.run_id}


@workflow
def medly_pipeline(data_dir: str = "samples/medly") -> dict[str, object]:
    return migrate(data_dir=data_dir)
