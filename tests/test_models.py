"""Parsing the reference's replies into dataclasses, quirks included."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

from weshop_nb.service._catalogue import AgentInfo
from weshop_nb.service._errors import InvalidRequestError
from weshop_nb.service._models import Execution, Task, normalize_status

from .fixtures import reference


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("Success", "success"),
        ("SUCCESS", "success"),
        ("Failed", "failed"),
        ("failed", "failed"),
        ("Pending", "pending"),
        ("Queued", "pending"),
        ("Running", "running"),
        ("Processing", "running"),  # unknown non-terminal words mean "still working"
        ("", "running"),
        (None, "running"),
    ],
)
def test_statuses_are_normalised(word: str | None, status: str) -> None:
    assert normalize_status(word) == status


def test_query_reply_parses_into_task() -> None:
    task = Task.from_api(reference.QUERY["data"], task_id="<task id>")
    assert task.id == "<task id>"
    assert (task.agent_name, task.agent_version, task.name) == ("aimodel", "v1.0", "Create Task Api Test")
    assert [e.id for e in task.executions] == ["exec-1", "exec-2"]
    first = task.executions[0]
    assert first.status == "success" and first.done
    assert first.executed_at == datetime(2023, 11, 27, 18, 51, 35)
    assert first.params["textDescription"] == "1girl"
    assert first.images == [reference.IMAGE] * 4
    assert first.task_id == "<task id>"
    assert first.raw["status"] == "Success"  # what the service said is kept


def test_executions_are_ordered_by_time_not_position() -> None:
    data = copy.deepcopy(reference.QUERY["data"])
    data["executions"].reverse()  # newest first, as the emulator and maybe the service send them
    task = Task.from_api(data, task_id="t")
    assert [e.id for e in task.executions] == ["exec-1", "exec-2"]
    assert task.latest is not None and task.latest.id == "exec-2"
    assert task.execution("exec-1") is task.executions[0]
    assert task.execution("nope") is None


def test_tolerant_of_missing_and_odd_fields() -> None:
    execution = Execution.from_api({"executionId": 12, "status": "Running", "result": [{"status": "Running"}, "junk"]})
    assert execution.id == "12"
    assert execution.status == "running" and not execution.done
    assert execution.executed_at is None
    assert execution.images == []
    assert len(execution.results) == 1
    failed = Execution.from_api({"executionId": "x", "status": "Failed", "message": "mask not found"})
    assert failed.error == "mask not found"


def test_agent_info_parses_catalogue() -> None:
    info = AgentInfo.from_api(reference.INFO["data"], agent_name="aimodel", agent_version="v1.0")
    assert [loc.name for loc in info.locations] == ["White Studio", "French Flagstone Pavement"]
    studio = info.locations[0]
    assert studio.id == 6000372 and studio.categories == ("womenswear",)
    assert [t.name for t in studio.tags] == ["Film grain", "Spot light"]
    letitia = info.fashion_models[0]
    assert letitia.price_description == "Additional cost of 5 points / image"
    assert letitia.profile["nationality"] == "Spain" and letitia.type == "AI"


def test_lookup_by_id_or_name_and_helpful_miss() -> None:
    info = AgentInfo.from_api(reference.INFO["data"], agent_name="aimodel", agent_version="v1.0")
    assert info.location(6000392).name == "French Flagstone Pavement"
    assert info.location("white studio").id == 6000372
    assert info.fashion_model("EVE").id == 4020095
    with pytest.raises(InvalidRequestError) as caught:
        info.fashion_model("Leticia")
    message = str(caught.value)
    assert "Did you mean 'Letitia'" in message
    assert "Eve (4020095)" in message  # every valid name is listed


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("executionTime", "yesterday", "executionTime 'yesterday' is not a time"),
        ("executionTime", 1e300, "is not a time"),
        ("executionTime", ["2026-11-01"], "is not a time"),
        ("params", "a string", "params 'a string' is not an object"),
        ("params", [1, 2], "is not an object"),
        ("result", 7, "result 7 is not a list"),
        ("result", [{"status": "Success", "image": 12345}], "image URL 12345 is not text"),
        ("result", ["not an object"], "1 entry(ies) of result are not objects"),
        ("executionId", {"x": 1}, "executionId {'x': 1} is not an id"),
    ],
)
def test_a_malformed_field_is_left_empty_with_a_warning(field, value, said) -> None:
    record = {"executionId": "e1", "status": "Success", "executionTime": "2026-11-01 10:00:00", "params": {"a": 1}}
    record["result"] = [{"status": "Success", "image": "https://cdn.test/1.png"}]
    record[field] = value
    execution = Execution.from_api(record, task_id="t")
    assert execution.status == "success"  # the rest of the record is read as usual
    assert any(said in warning for warning in execution.warnings), execution.warnings
    task = Task.from_api({"executions": [record, "junk"], "initParams": "junk"}, task_id="t")
    assert len(task.executions) == 1 and task.init_params == {}
    assert any("initParams" in w for w in task.warnings) and any(
        "executions are not objects" in w for w in task.warnings
    )
