"""The launch plan: what a launch will send, and every check made before any request.

``%%weshop run`` and the studio's Launch button both build a :class:`LaunchPlan` and ask
it the same questions (:meth:`~LaunchPlan.problems`, :meth:`~LaunchPlan.params`,
:meth:`~LaunchPlan.count`, :meth:`~LaunchPlan.jobs`), so a launch means the same thing
whichever face started it. It works for every agent of the registry
(:mod:`weshop_nb.contract`): the rules are the registry's, checked on every combination
of the sweep, and each :class:`~weshop_nb.contract.Problem` names its rule.

A launch sweeps prompts x locations x fashion models x the values of each parameter
given more than once (``--param aspectRatio=3:4 --param aspectRatio=9:16``). The named
options (``--mask``, ``--mode``, ``--pose``, ``--generate-version``, ``--batch``,
``--negative``) are shorthands for parameters; values typed as text are converted by
the registry's kinds (``targetWidth=1200`` is the integer 1200).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .. import contract
from ..contract import BATCH_RANGE, Problem
from ..service._models import Task
from ._jobs import Job, sweep

__all__ = ["LaunchPlan", "PlanError", "FLAGS"]

#: The named options: plan field -> (the parameter it sets, how a person wrote it).
FLAGS = {
    "mask": ("maskType", "--mask"),
    "mode": ("generatedContent", "--mode"),
    "pose": ("pose", "--pose"),
    "generate_version": ("generateVersion", "--generate-version"),
    "batch": ("batchCount", "--batch"),
    "negative": ("negTextDescription", "--negative"),
    "custom_mask": ("customMaskUrl", "--custom-mask"),
    "prompts": ("textDescription", "a prompt"),
    "locations": ("locationId", "--location"),
    "fashion_models": ("fashionModelId", "--model"),
}
_HINTS = {"textDescription": "write a prompt", "locationId": "--location", "fashionModelId": "--model"}
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class PlanError(ValueError):
    """A launch that breaks a rule; the message says which and what to do; ``problems`` lists them all."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


def convert(spec: contract.AgentSpec | None, key: str, value: Any) -> Any:
    """``value`` typed as text, converted by the kind of ``key`` (left as typed when it does not convert).

    A value left as typed is then refused by the registry's check, which says what was expected.
    """
    param = spec.param(key) if spec is not None else None
    if param is None or not isinstance(value, str):
        return value
    text = value.strip()
    if param.kind == "int":
        try:
            return int(text)
        except ValueError:
            return value
    if param.kind == "bool" and text.lower() in _TRUE + _FALSE:
        return text.lower() in _TRUE
    return value


@dataclass(frozen=True)
class LaunchPlan:
    """Every choice of one launch: the sweep, the shared parameters, and the images.

    ``locations`` and ``fashion_models`` may hold catalogue entries or, before they are
    looked up, the names or ids a person typed: the checks only count them.
    ``param_values`` holds each ``--param`` key with its values in order (one value: a
    fixed parameter; several: a sweep). ``image`` fills the agent's main input and
    ``input_pairs`` the others (``(name, path or URL)``, a name repeated for a list);
    without an image the launch reuses a task and the images are not checked here.
    ``images`` is a garment set (absolute paths and URLs, from
    :func:`~weshop_nb.work._pictures.expand_pictures`): each picture is the main input of
    its own task, and the sweep runs over every one of them; ``image`` is then the first
    (what the checks read). ``repeat`` asks for that many executions of each combination.
    """

    agent: str = "aimodel"
    version: str = "v1.0"
    prompts: Sequence[str] = ()
    locations: Sequence[Any] = ()
    fashion_models: Sequence[Any] = ()
    mask: str | None = None
    custom_mask: str | None = None
    mode: str | None = None
    pose: str | None = None
    generate_version: str | None = None
    batch: int | None = None
    negative: str | None = None
    default_mask: str = "autoApparelSegment"
    default_mode: str = "freeCreation"
    extra: dict[str, Any] = field(default_factory=dict)
    param_values: Sequence[tuple[str, Sequence[Any]]] = ()
    image: Any = None
    input_pairs: Sequence[tuple[str, Any]] = ()
    api: str = "v1"
    images: Sequence[str] = ()
    repeat: int = 1

    @property
    def spec(self) -> contract.AgentSpec | None:
        """The registry's agent of this plan, or None when the agent or version is unknown."""
        found = contract.spec(self.agent)
        return found if found is not None and found.version == self.version else None

    # -- what will be sent ---------------------------------------------------------------

    def _given(self) -> dict[str, tuple[Any, ...]]:
        """``--param`` values by key, converted by kind, repeats dropped (order kept)."""
        values: dict[str, list[Any]] = {}
        for key, given in self.param_values:
            kept = values.setdefault(key, [])
            for value in given:
                value = convert(self.spec, key, value)
                if value not in kept:
                    kept.append(value)
        return {key: tuple(kept) for key, kept in values.items()}

    def params(self) -> dict[str, Any]:
        """Parameters shared by every execution (prompt, location, model and swept values are per job)."""
        spec = self.spec
        shared: dict[str, Any] = {}
        for name, default, flag in (
            ("maskType", self.default_mask, "custom" if self.custom_mask else self.mask),
            ("generatedContent", self.default_mode, self.mode),
        ):
            param = spec.param(name) if spec is not None else None
            if flag is not None:
                shared[name] = flag
            elif param is not None and default in param.choices and name not in self._given():
                shared[name] = default  # the magic's setting, where this agent allows it
        for attribute in ("pose", "generate_version", "batch", "negative"):
            shared[FLAGS[attribute][0]] = getattr(self, attribute) or None
        shared.update(self.extra)
        shared.update({key: values[0] for key, values in self._given().items() if len(values) == 1})
        return {key: value for key, value in shared.items() if value is not None}

    def variants(self) -> list[dict[str, Any]]:
        """Every combination of the swept parameters (those given several values); ``[{}]`` when none."""
        swept = {key: values for key, values in self._given().items() if len(values) > 1}
        return [dict(zip(swept, combo, strict=True)) for combo in itertools.product(*swept.values())]

    def inputs(self) -> dict[str, Any] | None:
        """The images by input name (paths or URLs as given), or None when the launch reuses a task."""
        if self.image is None:
            return None
        spec = self.spec
        main = spec.main_input if spec is not None else None
        inputs: dict[str, Any] = {}
        for name, value in [(main.name if main else "originalImage", self.image), *self.input_pairs]:
            image = spec.input(name) if spec is not None else None
            if image is not None and image.multiple:
                inputs.setdefault(name, []).append(value)
            elif name in inputs:
                inputs[name] = [*inputs[name], value] if isinstance(inputs[name], list) else [inputs[name], value]
            else:
                inputs[name] = value
        return inputs

    def pictures(self) -> list[str]:
        """The pictures of the set (``images``), or the one ``image`` as a set of one."""
        if self.images:
            return list(self.images)
        return [self.image] if isinstance(self.image, str) else []

    def count(self) -> int:
        """How many executions a launch of this plan starts."""
        per_job = (len(self.prompts) or 1) * (len(self.locations) or 1) * (len(self.fashion_models) or 1)
        return per_job * len(self.variants()) * (len(self.images) or 1) * max(1, self.repeat)

    def jobs(self, task: Task, *, input_image: str | None = None) -> list[Job]:
        """One job per combination (``repeat`` times each), on ``task``; locations and models must be
        catalogue entries by now. ``input_image``: the picture of ``task``, as the user named it."""
        once = sweep(
            task,
            list(self.prompts) or [None],
            list(self.locations) or [None],
            list(self.fashion_models) or [None],
            variants=self.variants(),
            input_image=input_image,
            **self.params(),
        )
        # Copies side by side: the sharding deals them to different tasks (never two alike on one).
        return [job for job in once for _ in range(max(1, self.repeat))]

    def collapsed(self) -> tuple[LaunchPlan, str | None]:
        """This plan without repeats in its sweep, and a line saying what was collapsed (None when nothing).

        The same location or model twice (by id, or by name whatever the case), identical
        prompts, a ``--param`` value given twice, the same picture twice: each would launch
        (and bill) identical executions. ``repeat`` asks for copies on purpose.
        """
        said: list[str] = []

        def unique(values: Sequence[Any], what: str, key: Callable[[Any], Any]) -> tuple[Any, ...]:
            kept: dict[Any, Any] = {}
            for value in values:
                kept.setdefault(key(value), value)
            extra = len(values) - len(kept)
            if extra:
                said.append(f"{extra} repeated {what}{'' if extra == 1 else 's'}")
            return tuple(kept.values())

        def entry(value: Any) -> Any:
            found = getattr(value, "id", None)
            return ("id", str(found)) if found is not None else ("name", str(value).strip().casefold())

        prompts = unique(self.prompts, "prompt", str.strip)
        locations = unique(self.locations, "location", entry)
        models = unique(self.fashion_models, "fashion model", entry)
        images = unique(self.images, "picture", str)
        values = []
        for key, given in self.param_values:
            converted = [convert(self.spec, key, value) for value in given]
            kept = tuple(dict.fromkeys(converted))
            extra = len(converted) - len(kept)
            if extra:
                said.append(f"{extra} repeated {'value' if extra == 1 else 'values'} of {key}")
            values.append((key, kept))
        plan = replace(
            self,
            prompts=prompts,
            locations=locations,
            fashion_models=models,
            images=images,
            param_values=tuple(values),
        )
        if not said:
            return self, None
        line = "Collapsed " + ", ".join(said) + f" (identical executions): launching {plan.count()}."
        hint = " --repeat N asks for N of each on purpose." if self.repeat <= 1 else ""
        return plan, line + hint

    # -- the checks ----------------------------------------------------------------------

    def problems(self) -> list[Problem]:
        """Every rule this plan breaks, in the order to fix them; empty when it can launch."""
        spec = self.spec
        if spec is None:
            known = ", ".join(f"{name} {contract.spec(name).version}" for name in contract.agents())  # type: ignore[union-attr]
            return [Problem("agent", "unknown", f"Unknown agent {self.agent} {self.version}; known: {known}.")]
        problems = self._option_problems(spec)
        if problems:
            return problems
        inputs = self.inputs()
        stand_in = None if inputs is None else {k: contract.stand_in(v) for k, v in inputs.items()}
        per_job = {
            "textDescription": self.prompts[0] if self.prompts else None,
            "locationId": 0 if self.locations else None,  # names are looked up later; the rules only count them
            "fashionModelId": 0 if self.fashion_models else None,
            # A custom mask is uploaded after the checks; until then it stands in as a URL.
            "customMaskUrl": contract.stand_in(self.custom_mask) if self.custom_mask and not self.extra else None,
        }
        shared = {**self.params(), **per_job}
        found = [
            spec.check({k: v for k, v in {**shared, **variant}.items() if v is not None}, stand_in, api=self.api)
            for variant in self.variants()
        ]
        # A problem of every combination is said once; one of some combinations names them.
        everywhere = set.intersection(*({p.message for p in listed} for listed in found))
        said: set[str] = set()
        for variant, listed in zip(self.variants(), found, strict=True):
            for problem in listed:
                if problem.message in said and problem.message in everywhere:
                    continue
                said.add(problem.message)
                problems.append(self._in_plan_words(problem, {} if problem.message in everywhere else variant))
        return problems

    def _option_problems(self, spec: contract.AgentSpec) -> list[Problem]:
        """Rules about the options themselves: each set once, each taken by this agent, the batch range."""
        problems = []
        given = self._given()
        known = ", ".join(spec.param_names)
        for attribute, (param, flag) in FLAGS.items():
            value = getattr(self, attribute)
            if not value:
                continue
            if spec.param(param) is None:
                message = f"{flag} sets {param}, which {spec.name} does not take; its parameters: {known}."
                problems.append(Problem(param, "unknown", message))
            elif param in given:
                problems.append(Problem(param, "conflict", f"{param} is set by {flag} and by --param; give it once."))
        low, high = BATCH_RANGE
        if self.batch is not None and not low <= self.batch <= high:
            message = f"--batch must be between {low} and {high}, got {self.batch}."
            problems.append(Problem("batchCount", "range", message))
        if self.mask == "custom" and not self.custom_mask:
            message = "--mask custom needs --custom-mask PATH|URL (a PNG, transparent where editable)."
            problems.append(Problem("customMaskUrl", "required_when", message))
        if self.custom_mask and self.mask not in (None, "custom"):
            message = f"--custom-mask only works with --mask custom, not {self.mask}."
            problems.append(Problem("customMaskUrl", "only_with", message))
        for name, count in self._repeated_inputs(spec).items():
            problems.append(Problem(name, "count", f"{name} takes one image for {spec.name}, given {count} times."))
        return problems

    def _repeated_inputs(self, spec: contract.AgentSpec) -> dict[str, int]:
        names = [spec.main_input.name] if self.image is not None else []
        names += [name for name, _ in self.input_pairs]
        single = {i.name for i in spec.inputs if not i.multiple}
        return {name: names.count(name) for name in dict.fromkeys(names) if name in single and names.count(name) > 1}

    def _in_plan_words(self, problem: Problem, variant: Mapping[str, Any]) -> Problem:
        """A registry problem as a launch states it: what to write instead, and which combination."""
        message = problem.message
        if problem.rule == "at_least_one":
            keys = [k for k in _HINTS if k in message]
            hint = ", ".join(_HINTS[k] for k in keys)
            message = f"Nothing to generate: {message[:-1]} ({hint})." if hint else message
        if variant:
            message = f"{message[:-1]} (in the sweep: {', '.join(f'{k}={v}' for k, v in variant.items())})."
        return Problem(problem.key, problem.rule, message)

    def without_prompt(self, how: str) -> tuple[bool, str | None]:
        """What a launch without a prompt says: ``(refused, sentence)``; ``(False, None)`` when it has one
        or the agent takes none. ``how`` says how to add one (the cell body, ``prompts=``).

        The prompt is refused missing where the agent needs it, or where it is one of the
        things to generate from (aimodel: a prompt, a scene or a model), since a launch on a
        scene alone bills pictures nobody described; elsewhere it is optional and said so.
        """
        spec = self.spec
        if spec is None or self.prompts or spec.param("textDescription") is None or "textDescription" in self._given():
            return False, None
        param = spec.param("textDescription")
        wanted = (param is not None and param.required) or any(
            isinstance(rule, contract.AtLeastOne) and "textDescription" in rule.keys for rule in spec.rules
        )
        if wanted:
            return True, f"No prompt: {spec.name} needs one to know what to make. {how}"
        return False, f"No prompt: {spec.name} launches without one (it is optional). {how}"

    def check(self) -> LaunchPlan:
        """The plan itself when it can launch; :class:`PlanError` naming the broken rules otherwise."""
        problems = self.problems()
        if problems:
            raise PlanError(" ".join(p.message for p in problems), problems)
        return self
