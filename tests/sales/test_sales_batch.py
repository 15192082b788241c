"""etl_toolkit.sales.batch.Batch: a page's ids are fetched together, each id once."""

from __future__ import annotations

import pytest

from etl_toolkit.sales.batch import Batch


def _batch(fetched: list[list[int]]) -> Batch[int, str]:
    def fetch(ids: list[int]) -> dict[int, str]:
        fetched.append(ids)
        return {i: f"v{i}" for i in ids if i < 100}  # ids of 100 and up do not exist

    return Batch(fetch)


def test_announced_keys_come_with_the_first_one_asked_for() -> None:
    fetched: list[list[int]] = []
    batch = _batch(fetched)
    batch.announce([3, 1, 2, 1])
    assert [batch.get(i) for i in (2, 1, 3)] == ["v2", "v1", "v3"]
    assert fetched == [[3, 1, 2]]  # one fetch, in the order announced, no repeat


def test_a_key_is_fetched_once_even_when_it_does_not_exist() -> None:
    fetched: list[list[int]] = []
    batch = _batch(fetched)
    assert batch.get(100) is None and batch.get(100) is None
    batch.announce([100, 5])  # 100 is known absent: not asked for again
    assert batch.get(5) == "v5"
    assert fetched == [[100], [5]]


def test_a_failed_fetch_leaves_its_keys_to_the_next_one() -> None:
    calls: list[list[int]] = []

    def fetch(ids: list[int]) -> dict[int, int]:
        calls.append(ids)
        if len(calls) == 1:
            raise ConnectionError("gone")
        return {i: i for i in ids}

    batch: Batch[int, int] = Batch(fetch)
    batch.announce([1, 2])
    with pytest.raises(ConnectionError):
        batch.get(1)
    assert batch.get(2) == 2
    assert calls == [[1, 2], [1, 2]]
