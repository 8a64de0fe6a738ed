"""An execution as one flat record: the columns shared by ``Run.to_frame()`` and the history.

Kept free of pandas so that launching a run does not import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import Execution, FashionModel, Location, Task

if TYPE_CHECKING:
    from .runs import Job, RunItem

#: Columns of ``Run.to_frame()`` and the history, each with the kind of value it holds
#: (``frames.py`` turns the kinds into pandas dtypes).
COLUMN_KINDS = {
    "task_id": "text",
    "execution_id": "text",
    "agent_name": "text",
    "agent_version": "text",
    "task_name": "text",
    "original_image": "text",
    "status": "status",
    "executed_at": "time",
    "prompt": "text",
    "negative_prompt": "text",
    "mask_type": "text",
    "generated_content": "text",
    "pose": "text",
    "location_id": "integer",
    "location_name": "text",
    "fashion_model_id": "integer",
    "fashion_model_name": "text",
    "batch_count": "integer",
    "n_images": "integer",
    "images": "list",
    "source": "text",
}
FRAME_COLUMNS = tuple(COLUMN_KINDS)


def item_row(item: RunItem, source: str) -> dict[str, Any]:
    """The flat record of one item, in :data:`FRAME_COLUMNS` order."""
    job, execution = item.job, item.execution
    params = dict(execution.params) if execution is not None and execution.params else dict(job.params)
    images = execution.images if execution is not None else []
    return {
        "task_id": job.task.id,
        "execution_id": execution.id if execution is not None else None,
        "agent_name": job.task.agent_name,
        "agent_version": job.task.agent_version,
        "task_name": job.task.name,
        "original_image": job.task.init_params.get("originalImage"),
        "status": item.status,
        "executed_at": execution.executed_at if execution is not None else None,
        "prompt": params.get("textDescription"),
        "negative_prompt": params.get("negTextDescription"),
        "mask_type": params.get("maskType"),
        "generated_content": params.get("generatedContent"),
        "pose": params.get("pose"),
        "location_id": params.get("locationId"),
        "location_name": getattr(job.location, "name", None),
        "fashion_model_id": params.get("fashionModelId"),
        "fashion_model_name": getattr(job.fashion_model, "name", None),
        "batch_count": params.get("batchCount"),
        "n_images": len(images),
        "images": list(images),
        "source": source,
    }


#: Record columns that are execution parameters, and the service's name for each.
PARAM_COLUMNS = {
    "prompt": "textDescription",
    "negative_prompt": "negTextDescription",
    "mask_type": "maskType",
    "generated_content": "generatedContent",
    "pose": "pose",
    "location_id": "locationId",
    "fashion_model_id": "fashionModelId",
    "batch_count": "batchCount",
}


def _present(value: Any) -> Any:
    """None for pandas' missing values (NA, NaT, NaN), the value otherwise."""
    try:
        return None if value is None or value != value or str(value) in ("<NA>", "NaT") else value
    except (TypeError, ValueError):  # NA refuses comparison
        return None


def job_from_row(row: dict[str, Any]) -> tuple[Job, Execution]:
    """A record (as ``History.executions()`` gives it) back as the job and execution it describes."""
    from .runs import Job

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
    return Job(task, params, location, model), execution
