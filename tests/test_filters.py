"""History filters compared as times, relative spans, and clear errors for what cannot be read."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from weshop_nb.service._models import Execution
from weshop_nb.work._filters import FilterError, time_bound
from weshop_nb.work._history import History

_SOURCE = "http://127.0.0.1:1"


def _execution(n: int, when: datetime, status: str = "success") -> Execution:
    return Execution(id=f"e{n}", status=status, params={"textDescription": f"p{n}"}, executed_at=when, results=())


@pytest.fixture
def history(store) -> History:
    store = History()  # the file at home, or the test server's database
    now = datetime.now().replace(microsecond=0)
    times = [
        datetime(2020, 11, 24, 23, 59, 59),
        datetime(2020, 11, 25, 0, 0, 0),
        datetime(2020, 11, 25, 18, 30, 0),  # the evening of the 25th: text comparison used to lose it
        datetime(2020, 11, 26, 0, 0, 0),
        now - timedelta(hours=30),  # yesterday or the day before
        now - timedelta(minutes=5),
    ]
    store.record_executions([_execution(n, t, "failed" if n == 5 else "success") for n, t in enumerate(times)], _SOURCE)
    return store


def _ids(frame) -> list[str]:
    return sorted(frame["execution_id"])


def test_days_dates_and_datetimes_are_compared_as_times(history) -> None:
    assert _ids(history.executions(since="2020-11-25", until="2020-11-25")) == ["e1", "e2"]
    assert _ids(history.executions(since=date(2020, 11, 25), until=date(2020, 11, 25))) == ["e1", "e2"]
    assert _ids(history.executions(since=datetime(2020, 11, 25, 12), until="2020-11-26 00:00")) == ["e2", "e3"]
    assert _ids(history.executions(until="Nov 24 2020")) == ["e0"]
    import pandas as pd

    assert _ids(history.executions(since=pd.Timestamp("2020-11-25 18:30"), until="2020-11-25T18:30:00")) == ["e2"]


def test_relative_spans(history) -> None:
    assert _ids(history.executions(since="1h", until="now")) == ["e5"]
    assert _ids(history.executions(since="2 days ago", until="now")) == ["e4", "e5"]
    now = datetime(2026, 11, 25, 9, 0)
    assert time_bound("today", end=False, now=now) == (">=", "2026-11-25 00:00:00")
    assert time_bound("today", end=True, now=now) == ("<", "2026-11-26 00:00:00")
    assert time_bound("yesterday", end=False, now=now) == (">=", "2026-11-24 00:00:00")
    assert time_bound("yesterday", end=True, now=now) == ("<", "2026-11-25 00:00:00")
    assert time_bound("90min", end=False, now=now) == (">=", "2026-11-25 07:30:00")
    assert time_bound("1w", end=True, now=now) == ("<=", "2026-11-18 09:00:00")


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"since": "last tuesday-ish"}, "since='last tuesday-ish' is not a time this understands. Accepted: a date"),
        ({"until": "3 fortnights"}, "spans use s, min, h, d or w, not 'fortnights'"),
        ({"since": 20261125}, "since must be a date, a datetime or text, not int (20261125)"),
        ({"status": "sucess"}, "Unknown status 'sucess'. Did you mean 'success'? Accepted: pending, running, success"),
        ({"status": ["success", "done"]}, "Unknown status 'done'"),
        ({"limit": -1}, "limit must be a whole number of executions, 0 or more; got -1"),
    ],
)
def test_what_cannot_be_read_is_a_clear_error(history, filters, message) -> None:
    with pytest.raises(FilterError) as caught:
        history.executions(**filters)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_statuses_read_like_the_service_and_the_magic(history) -> None:
    assert _ids(history.executions(status="Failed")) == ["e5"]
    assert len(history.executions(status="failed,success")) == 6


def test_magic_history_errors_and_column_order(store, ip, monkeypatch, tmp_path) -> None:
    from IPython.core.error import UsageError

    monkeypatch.setenv("WESHOP_NB_HOME", str(tmp_path))
    store = History()
    store.record_executions([_execution(1, datetime(2020, 11, 25, 18, 30))], _SOURCE)
    ip.run_cell("df = %weshop history --until 2020-11-25")
    frame = ip.user_ns["df"]
    assert list(frame["execution_id"]) == ["e1"]
    assert list(frame.columns[:6]) == [
        "prompt",
        "status",
        "location_name",
        "fashion_model_name",
        "executed_at",
        "n_images",
    ]
    assert list(frame.columns[-3:]) == ["task_id", "execution_id", "source"]
    with pytest.raises(UsageError, match="Did you mean 'success'"):
        ip.run_cell("%weshop history --status sucess")
    with pytest.raises(UsageError, match="is not a time this understands"):
        ip.run_cell("%weshop history --since 'next blue moon'")
