"""An execution as one flat record: the columns shared by ``Run.to_frame()`` and the history.

Kept free of pandas so that launching a run does not import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..contract import FAILED, spec
from ..service._catalogue import FashionModel, Location
from ..service._fields import integer
from ..service._models import Execution, Task
from ._jobs import Job

if TYPE_CHECKING:
    from ._run import RunItem


@dataclass(frozen=True)
class Column:
    """One column of an execution record.

    ``kind`` is the kind of value (``_frames.py`` turns it into a pandas dtype, the history
    into an SQLite type); ``home`` is where the history keeps it: ``executions`` (its own
    column), ``tasks`` (joined from the task), or ``location`` / ``fashion_model`` (a name
    joined from the catalogue); ``param`` is the service's parameter name for columns that
    are execution parameters; ``attribute`` is the :class:`Execution` attribute a column
    reads (``media``, ``power_consumption``...); ``merge`` is how the history updates a
    known execution with a newer sighting (SQL over ``excluded``; None keeps the first value).
    """

    name: str
    kind: str
    home: str = "executions"
    param: str | None = None
    merge: str | None = None
    attribute: str | None = None


_MORE_IMAGES = "CASE WHEN excluded.n_images >= COALESCE(n_images, 0) THEN excluded.images ELSE images END"
_MORE_VIDEOS = (
    "CASE WHEN LENGTH(COALESCE(excluded.videos, '')) >= LENGTH(COALESCE(videos, '')) "
    "THEN excluded.videos ELSE videos END"
)
_MORE_POSTERS = _MORE_VIDEOS.replace("videos", "posters")
_KEEP = "COALESCE({0}, excluded.{0})"
#: The one table of record columns: ``Run.to_frame()``, the history's schema, its inserts,
#: its selects and the DataFrame dtypes all derive from it. Add a column here, and only here.
#: The order is the order people read: what was asked and what came of it first, ids last.
COLUMNS = (
    Column("prompt", "text", param="textDescription"),
    # A terminal status is final: an older reply arriving late never turns success back into running.
    Column("status", "status", merge="CASE WHEN status IN ('success', 'failed') THEN status ELSE excluded.status END"),
    Column("location_name", "text", home="location"),
    Column("fashion_model_name", "text", home="fashion_model"),
    Column("executed_at", "time", merge="COALESCE(excluded.executed_at, executed_at)"),
    Column("n_images", "integer", merge="MAX(COALESCE(n_images, 0), excluded.n_images)"),
    Column("images", "list", merge=_MORE_IMAGES),
    Column("videos", "list", merge=_MORE_VIDEOS, attribute="videos"),  # what a video agent made
    # Why an execution failed, in the service's words (or why it could not start).
    Column("error", "text", merge="COALESCE(excluded.error, error)"),
    Column("media", "text", merge="COALESCE(excluded.media, media)", attribute="media"),  # image or video
    # The still of each video, in the same order ("" where the service sent none).
    Column("posters", "list", merge=_MORE_POSTERS, attribute="posters"),
    Column("negative_prompt", "text", param="negTextDescription"),
    Column("mask_type", "text", param="maskType"),
    Column("generated_content", "text", param="generatedContent"),
    Column("pose", "text", param="pose"),
    Column("location_id", "integer", param="locationId"),
    Column("fashion_model_id", "integer", param="fashionModelId"),
    Column("batch_count", "integer", param="batchCount"),
    # What the start billed: only a runs-API start tells the points, so a later sighting without them keeps them.
    Column("power_consumption", "integer", merge=_KEEP.format("power_consumption"), attribute="power_consumption"),
    Column("power_balance", "integer", merge=_KEEP.format("power_balance"), attribute="power_balance"),
    Column("task_name", "text", home="tasks"),
    Column("agent_name", "text", home="tasks"),
    Column("agent_version", "text", home="tasks"),
    Column("original_image", "text", home="tasks"),
    # The picture as the user named it (absolute path or URL); original_image is where it was uploaded.
    Column("input_image", "text", merge=_KEEP.format("input_image")),
    Column("task_id", "text", merge="COALESCE(excluded.task_id, task_id)"),
    Column("execution_id", "text"),
    Column("source", "text"),
)
COLUMN_KINDS = {column.name: column.kind for column in COLUMNS}
FRAME_COLUMNS = tuple(COLUMN_KINDS)
#: Record columns that are execution parameters, and the service's name for each.
PARAM_COLUMNS = {column.name: column.param for column in COLUMNS if column.param}
#: The ``error`` of a failed execution whose reply gave no reason.
FAILED_WITHOUT_REASON = "the service reported the execution as failed"
#: Record columns read from an attribute of the execution, and that attribute.
ATTRIBUTE_COLUMNS = {column.name: column.attribute for column in COLUMNS if column.attribute}
LIST_COLUMNS = tuple(column.name for column in COLUMNS if column.kind == "list")


def _attributes(execution: Execution | None, stored: bool) -> dict[str, Any]:
    """The attribute columns of ``execution`` (None for each when there is none); lists joined when ``stored``."""
    values = {}
    for column, attribute in ATTRIBUTE_COLUMNS.items():
        value = getattr(execution, attribute, None) if execution is not None else None
        if isinstance(value, list):
            # A missing entry (a video without a poster) is "": the list keeps its order.
            value = [entry or "" for entry in value]
            value = "\n".join(value) if stored else value
        values[column] = value
    return values


#: The picture each launched task or execution came from, as the user named it, by
#: ``(source, "task" | "execution", id)``: the service never echoes it, so a launch tells it
#: here before it starts anything, and the history stores it with every sighting.
_INPUT_IMAGES: dict[tuple[str, str, str], str] = {}


def remember_input_image(source: str, input_image: str | None, *, task_id: str = "", execution_id: str = "") -> None:
    """Say which picture a task (v1: one task per picture) or an execution (runs API) came from."""
    if input_image:
        if task_id:
            _INPUT_IMAGES[(source, "task", task_id)] = input_image
        if execution_id:
            _INPUT_IMAGES[(source, "execution", execution_id)] = input_image


def _input_image(source: str, execution: Execution, task_id: str | None) -> str | None:
    found = _INPUT_IMAGES.get((source, "execution", execution.id))
    task = execution.task_id or task_id
    return found or (_INPUT_IMAGES.get((source, "task", task)) if task else None)


def execution_values(execution: Execution, source: str, task_id: str | None = None) -> dict[str, Any]:
    """What the history stores of ``execution`` in its own columns (those whose home is ``executions``)."""
    params = execution.params
    values: dict[str, Any] = {
        "input_image": _input_image(source, execution, task_id),
        "task_id": execution.task_id or task_id,
        "execution_id": execution.id,
        "status": execution.status,
        "executed_at": execution.executed_at.strftime("%Y-%m-%d %H:%M:%S") if execution.executed_at else None,
        "n_images": len(execution.images),
        "images": "\n".join(execution.images),
        "error": (execution.error or FAILED_WITHOUT_REASON) if execution.status == FAILED else None,
        "source": source,
        **_attributes(execution, stored=True),
    }
    for column in COLUMNS:
        if column.param:
            value = params.get(column.param)
            values[column.name] = integer(value) if column.kind == "integer" else value
    return values


def item_row(item: RunItem, source: str) -> dict[str, Any]:
    """The flat record of one item, in :data:`FRAME_COLUMNS` order."""
    job, execution = item.job, item.execution
    params = dict(execution.params) if execution is not None and execution.params else dict(job.params)
    images = execution.images if execution is not None else []
    row = {column: params.get(key) for column, key in PARAM_COLUMNS.items()}
    row.update(_attributes(execution, stored=False))
    if row.get("media") is None:  # not started yet, or no reply named the agent: the registry says
        found = spec(job.task.agent_name) if job.task.agent_name else None
        row["media"] = found.output if found is not None else None
    row.update(
        task_id=job.task.id,
        execution_id=execution.id if execution is not None else None,
        agent_name=job.task.agent_name,
        agent_version=job.task.agent_version,
        task_name=job.task.name,
        original_image=job.task.init_params.get("originalImage"),
        input_image=job.input_image,
        status=item.status,
        executed_at=execution.executed_at if execution is not None else None,
        location_name=getattr(job.location, "name", None),
        fashion_model_name=getattr(job.fashion_model, "name", None),
        n_images=len(images),
        images=list(images),
        error=item.error,
        source=source,
    )
    return {name: row[name] for name in FRAME_COLUMNS}


def _present(value: Any) -> Any:
    """None for pandas' missing values (NA, NaT, NaN), the value otherwise."""
    try:
        return None if value is None or value != value or str(value) in ("<NA>", "NaT") else value
    except (TypeError, ValueError):  # NA refuses comparison
        return None


def job_from_row(row: dict[str, Any]) -> tuple[Job, Execution]:
    """A record (as ``History.executions()`` gives it) back as the job and execution it describes."""
    value = {key: _present(v) for key, v in row.items()}
    params = {name: value[column] for column, name in PARAM_COLUMNS.items() if value.get(column) is not None}
    for key in ("locationId", "fashionModelId", "batchCount"):
        if key in params:
            params[key] = int(params[key])
    init = {"taskName": value.get("task_name"), "originalImage": value.get("original_image")}
    task = Task(
        id=str(value["task_id"]),
        agent_name=value.get("agent_name"),
        agent_version=value.get("agent_version"),
        init_params={k: v for k, v in init.items() if v is not None},
    )
    location = (
        Location(id=params["locationId"], name=value.get("location_name") or str(params["locationId"]), image=None)
        if "locationId" in params
        else None
    )
    model = (
        FashionModel(
            id=params["fashionModelId"],
            name=value.get("fashion_model_name") or str(params["fashionModelId"]),
            image=None,
        )
        if "fashionModelId" in params
        else None
    )
    when = value.get("executed_at")
    execution = Execution(
        id=str(value["execution_id"]),
        status=str(value.get("status") or "pending"),
        params=params,
        executed_at=when.to_pydatetime() if hasattr(when, "to_pydatetime") else when,
        results=(),
        task_id=task.id,
    )
    return Job(task, params, location, model, value.get("input_image")), execution
