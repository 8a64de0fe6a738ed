"""The shapes of the agent registry: image inputs, parameters, the rules between them.

Everything here is plain frozen data plus the checks that read it; the agents themselves
are in :mod:`._agents`. Standard library only, so the client, the notebook layer and the
emulator can all import it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Parameter kinds. ``enum`` is a string from ``choices``.
KINDS = ("str", "int", "bool", "enum")

#: Named patterns a ``str`` parameter may have to match: name -> regular expression.
PATTERNS = {
    "#rrggbb": r"#[0-9a-fA-F]{6}",
    "url": r"https?://\S+",
    "seconds": r"[0-9]+s",
}


@dataclass(frozen=True)
class Problem:
    """One broken rule: which key, which kind of rule, and a sentence saying what to fix.

    ``rule`` is one of ``unknown``, ``required``, ``type``, ``choice``, ``range``,
    ``pattern``, ``count``, ``at_least_one``, ``at_most_one``, ``required_when``,
    ``only_with``, ``allowed_when``, ``at_most_when``.
    """

    key: str
    rule: str
    message: str

    def __str__(self) -> str:
        return self.message


class ParamsError(ValueError):
    """Raised by :func:`validate` with every :class:`Problem` of a call in ``problems``."""

    def __init__(self, agent: str, problems: list[Problem]) -> None:
        self.agent = agent
        self.problems = list(problems)
        super().__init__(f"{agent}: " + "; ".join(p.message for p in self.problems))


@dataclass(frozen=True)
class ImageInput:
    """A source image an agent reads: one URL, or a list of URLs when ``multiple``.

    ``copy_of`` names the input this one repeats (the official client sends the source
    image both as ``originalImage`` and as ``images: [url]``): a form fills it from that
    input, never asks for it. A list holds from ``min_count`` to ``max_count`` URLs
    (``None``: no bound stated); ``places`` says what each position holds, in order
    (``("the person", "the garment")``), for forms that ask for them one by one.
    """

    name: str
    required: bool = False
    multiple: bool = False
    max_count: int | None = None
    doc: str = ""
    copy_of: str | None = None
    min_count: int | None = None
    places: tuple[str, ...] = ()

    def count_words(self) -> str:
        """How many URLs the list takes, in words: ``exactly 2``, ``1 or 2``, ``at most 1``; "" when unbounded."""
        low, high = self.min_count, self.max_count
        if low is not None and low == high:
            return f"exactly {low}"
        if low is not None and high is not None:
            return f"{low} or {high}" if high == low + 1 else f"{low} to {high}"
        if high is not None:
            return f"at most {high}"
        return f"at least {low}" if low is not None else ""


#: A parameter's words for people (forms, tables), by its name: a name means the same
#: thing for every agent that takes it. A parameter not here is labelled from its doc.
LABELS = {
    "aspectRatio": "Aspect ratio",
    "backgroundHex": "Background colour",
    "backgroundId": "Background",
    "batchCount": "Results per execution",
    "customMask": "Mask (base64 PNG)",
    "customMaskUrl": "Mask URL",
    "descriptionType": "Prompt kind",
    "duration": "Length",
    "fashionModelId": "Fashion model",
    "fillLeft": "Left offset",
    "fillTop": "Top offset",
    "generateAudio": "With sound",
    "generateVersion": "Engine",
    "generatedContent": "Generated content",
    "imageSize": "Resolution",
    "locationId": "Scene",
    "maskType": "Part kept",
    "modelName": "Kling model",
    "negTextDescription": "What to avoid",
    "pose": "Pose",
    "targetHeight": "Canvas height",
    "targetWidth": "Canvas width",
    "textDescription": "Prompt",
}


def _label_from_doc(name: str, doc: str) -> str:
    """A short label from a doc's first words ("canvas width in pixels" -> "Canvas width in pixels"), else the name."""
    first = re.split(r" \(|[,;:]", doc, maxsplit=1)[0].strip()
    return first[:1].upper() + first[1:] if first and len(first) <= 28 else name


@dataclass(frozen=True)
class Param:
    """One execution parameter.

    ``required_v1`` is ``None`` when the v1 task API requires it exactly as the runs API
    does; ``False`` where the v1 documents leave it optional (aimodel's mask and mode).
    ``default`` is the service's documented default, ``None`` when none is documented.
    ``label`` is its name for people ("Results per execution" for ``batchCount``):
    given, else from :data:`LABELS`, else the start of ``doc``.
    """

    name: str
    kind: str = "str"
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    default: Any = None
    pattern: str | None = None
    doc: str = ""
    required_v1: bool | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:  # frozen: set once, here
            object.__setattr__(self, "label", LABELS.get(self.name) or _label_from_doc(self.name, self.doc))
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {KINDS}")
        if (self.kind == "enum") != bool(self.choices):
            raise ValueError(f"{self.name}: choices go with kind 'enum' only")

    def needed(self, api: str) -> bool:
        if api == "v1" and self.required_v1 is not None:
            return self.required_v1
        return self.required


def _given(value: Any) -> bool:
    """Absent, None and blank strings all count as not given (a blank prompt says nothing)."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def _alternatives(values: tuple[str, ...]) -> str:
    return " or ".join(values) if len(values) < 3 else ", ".join(values[:-1]) + " or " + values[-1]


@dataclass(frozen=True)
class AtLeastOne:
    """At least one of ``keys`` must be given."""

    keys: tuple[str, ...]

    def describe(self) -> str:
        return f"at least one of {_alternatives(self.keys)}"

    def problem(self, values: Mapping[str, Any], agent: str) -> Problem | None:
        if any(_given(values.get(k)) for k in self.keys):
            return None
        return Problem(self.keys[0], "at_least_one", f"{agent} needs at least one of {_alternatives(self.keys)}.")


@dataclass(frozen=True)
class AtMostOne:
    """At most one of ``keys`` may be given."""

    keys: tuple[str, ...]

    def describe(self) -> str:
        return f"at most one of {_alternatives(self.keys)}"

    def problem(self, values: Mapping[str, Any], agent: str) -> Problem | None:
        given = [k for k in self.keys if _given(values.get(k))]
        if len(given) <= 1:
            return None
        return Problem(given[1], "at_most_one", f"give {_alternatives(self.keys)}, not both ({', '.join(given)}).")


@dataclass(frozen=True)
class RequiredWhen:
    """One of ``keys`` is required when parameter ``when`` has one of ``values``."""

    keys: tuple[str, ...]
    when: str
    values: tuple[str, ...]

    def describe(self) -> str:
        return f"{_alternatives(self.keys)} required when {self.when} is {_alternatives(self.values)}"

    def problem(self, values: Mapping[str, Any], agent: str) -> Problem | None:
        actual = values.get(self.when)
        if actual not in self.values or any(_given(values.get(k)) for k in self.keys):
            return None
        return Problem(self.keys[0], "required_when", f"{self.when}={actual} needs {_alternatives(self.keys)}.")


@dataclass(frozen=True)
class OnlyWith:
    """``key`` may be given only when parameter ``when`` has one of ``values``."""

    key: str
    when: str
    values: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.key} only with {self.when} {_alternatives(self.values)}"

    def problem(self, values: Mapping[str, Any], agent: str) -> Problem | None:
        actual = values.get(self.when)
        if not _given(values.get(self.key)) or actual in self.values:
            return None
        now = f"not {actual}" if _given(actual) else f"and {self.when} is not given"
        message = f"{self.key} is only used with {self.when} {_alternatives(self.values)}, {now}."
        return Problem(self.key, "only_with", message)


@dataclass(frozen=True)
class AllowedWhen:
    """When parameter ``when`` has one of ``values``, ``key`` must be one of ``allowed``."""

    key: str
    when: str
    values: tuple[str, ...]
    allowed: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.key} one of {', '.join(self.allowed)} with {self.when} {_alternatives(self.values)}"

    def problem(self, values: Mapping[str, Any], agent: str) -> Problem | None:
        value = values.get(self.key)
        if values.get(self.when) not in self.values or not _given(value) or value in self.allowed:
            return None
        message = (
            f"{self.key} {value!r} is not allowed with {self.when} {values.get(self.when)}; "
            f"use one of: {', '.join(self.allowed)}."
        )
        return Problem(self.key, "allowed_when", message)


@dataclass(frozen=True)
class AtMostWhen:
    """When parameter ``when`` has one of ``values``, the image list ``key`` holds at most ``count`` URLs.

    ``doc`` says in a few words what the limit means (kling's ``"first frame only"``).
    """

    key: str
    count: int
    when: str
    values: tuple[str, ...]
    doc: str = ""

    def describe(self) -> str:
        why = f" ({self.doc})" if self.doc else ""
        when = f"{self.when} {_alternatives(self.values)}"
        return f"at most {self.count} {_images(self.count)} in {self.key} with {when}{why}"

    def problem(self, values: Mapping[str, Any], agent: str) -> Problem | None:
        given, actual = values.get(self.key), values.get(self.when)
        if actual not in self.values or not isinstance(given, list) or len(given) <= self.count:
            return None
        why = f" ({self.doc})" if self.doc else ""
        message = (
            f"{agent} takes at most {self.count} {_images(self.count)} in {self.key} with {self.when} {actual}"
            f"{why}, got {len(given)}."
        )
        return Problem(self.key, "at_most_when", message)


def _images(count: int) -> str:
    return "image" if count == 1 else "images"


Rule = AtLeastOne | AtMostOne | RequiredWhen | OnlyWith | AllowedWhen | AtMostWhen


@dataclass(frozen=True)
class AgentSpec:
    """Everything known about one agent: its images, parameters, rules and result kind.

    ``output`` is ``"image"`` (results carry ``image``) or ``"video"`` (``video`` and
    ``videoPoster``).
    """

    name: str
    version: str
    summary: str
    inputs: tuple[ImageInput, ...]
    params: tuple[Param, ...]
    rules: tuple[Rule, ...] = ()
    output: str = "image"
    _by_name: dict[str, Param] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({p.name: p for p in self.params})

    def param(self, name: str) -> Param | None:
        """The parameter called ``name``, or ``None``."""
        return self._by_name.get(name)

    def input(self, name: str) -> ImageInput | None:
        """The image input called ``name``, or ``None``."""
        return next((i for i in self.inputs if i.name == name), None)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def main_input(self) -> ImageInput:
        """The image a launch is made on (the magic's ``--image``): the first required input, else the first."""
        return next((i for i in self.inputs if i.required), self.inputs[0])

    def defaults(self) -> dict[str, Any]:
        """The documented defaults of the parameters that have one."""
        return {p.name: p.default for p in self.params if p.default is not None}

    def check(self, params: Any, inputs: Mapping[str, Any] | None = None, *, api: str = "runs") -> list[Problem]:
        """Every problem of ``params`` (and of ``inputs`` when given); empty when valid."""
        return _check(self, params, inputs, api)

    def check_inputs(self, inputs: Any) -> list[Problem]:
        """Every problem of the source images alone (a v1 task's ``initParams``)."""
        if not isinstance(inputs, Mapping):
            return [Problem("input", "type", "input must be an object.")]
        return _input_problems(self, {}, inputs)


def _kind_problem(param: Param, value: Any) -> Problem | None:
    name, kind = param.name, param.kind
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return Problem(name, "type", f"{name} must be an integer, got {type(value).__name__} {value!r}.")
    if kind == "bool" and not (isinstance(value, bool) or value in ("true", "false")):
        # The official client sends flags as the strings "true"/"false"; both forms pass.
        return Problem(name, "type", f"{name} must be true or false, got {value!r}.")
    if kind in ("str", "enum") and not isinstance(value, str):
        return Problem(name, "type", f"{name} must be a string, got {type(value).__name__}.")
    if kind == "enum" and value not in param.choices:
        return Problem(name, "choice", f"{name} {value!r} is not allowed; use one of: {', '.join(param.choices)}.")
    if kind == "int":
        low, high = param.minimum, param.maximum
        span = f" ({low} to {high})" if low is not None and high is not None else ""
        if high is not None and value > high:
            message = f"{name} {value} is out of range{span}: over the maximum {high} by {value - high}."
            return Problem(name, "range", message)
        if low is not None and value < low:
            message = f"{name} {value} is out of range{span}: under the minimum {low} by {low - value}."
            return Problem(name, "range", message)
    if param.pattern and not re.fullmatch(PATTERNS[param.pattern], value):
        what = "an http(s) URL" if param.pattern == "url" else param.pattern
        return Problem(name, "pattern", f"{name} {value!r} is not {what}.")
    return None


def is_url(value: Any) -> bool:
    """True when ``value`` is an http(s) URL: the one rule for "already online, no upload needed"."""
    return isinstance(value, str) and re.fullmatch(PATTERNS["url"], value) is not None


#: A local image as the checks see it before it is uploaded: any URL will do, the checks
#: only need to see that an image is there (it becomes a URL when uploaded).
LOCAL_IMAGE = "https://local.invalid/image"


def stand_in(value: Any) -> Any:
    """``value`` as the checks see it: URLs as they are, anything else (a path, bytes) as :data:`LOCAL_IMAGE`."""
    if isinstance(value, (list, tuple)):
        return [stand_in(v) for v in value]
    return value if value is None or is_url(value) else LOCAL_IMAGE


def _image_problems(agent: str, image: ImageInput, value: Any) -> list[Problem]:
    name = image.name
    if not image.multiple:
        if not is_url(value):
            return [Problem(name, "type", f"{name} must be an http(s) image URL, got {value!r:.80}.")]
        return []
    if not isinstance(value, list):
        return [Problem(name, "type", f"{name} must be a list of http(s) image URLs, got {type(value).__name__}.")]
    problems = [
        Problem(name, "type", f"{name}[{i}] must be an http(s) image URL, got {v!r:.80}.")
        for i, v in enumerate(value)
        if not is_url(v)
    ]
    too_few = image.min_count is not None and len(value) < image.min_count
    too_many = image.max_count is not None and len(value) > image.max_count
    if image.required and not value:
        several = image.min_count is not None and image.min_count > 1
        what = f"{image.count_words()} image URLs ({image.doc})" if several else "at least one image URL"
        problems.append(Problem(name, "required", f"{name} needs {what} for {agent}."))
    elif too_few or too_many:
        problems.append(_count_problem(agent, image, len(value)))
    return problems


def _count_problem(agent: str, image: ImageInput, count: int) -> Problem:
    """A list of the wrong length: how many it takes (and what each place holds, when stated)."""
    noun = _images(image.max_count if image.max_count is not None else image.min_count or 2)
    doc = f" ({image.doc})" if image.places else ""
    message = f"{agent} takes {image.count_words()} {noun} in {image.name}{doc}, got {count}."
    return Problem(image.name, "count", message)


def _input_problems(spec: AgentSpec, in_params: Mapping[str, Any], inputs: Mapping[str, Any] | None) -> list[Problem]:
    """Problems of the images: those repeated in params, and ``inputs`` when given."""
    agent, images = spec.name, {i.name: i for i in spec.inputs}
    problems: list[Problem] = []
    given = dict(in_params)
    if inputs is not None:
        extra = sorted(set(inputs) - set(images) - {"taskName"})
        if extra:
            known = ", ".join([*images, "taskName"])
            problems.append(
                Problem(extra[0], "unknown", f"Unknown input(s) for {agent}: {', '.join(extra)}. Known: {known}.")
            )
        if inputs.get("taskName") is not None and not isinstance(inputs.get("taskName"), str):
            problems.append(Problem("taskName", "type", "taskName must be a string."))
        given.update({k: v for k, v in inputs.items() if k in images})
    for image in spec.inputs:
        value = given.get(image.name)
        if value is None:
            if inputs is not None and image.required:
                kind = "a list of http(s) image URLs" if image.multiple else "an http(s) image URL"
                if image.multiple and image.places:
                    kind = f"a list of {image.count_words()} http(s) image URLs: {image.doc}"
                problems.append(Problem(image.name, "required", f"{image.name} is required for {agent} ({kind})."))
            continue
        problems.extend(_image_problems(agent, image, value))
    return problems


def _check(spec: AgentSpec, params: Any, inputs: Mapping[str, Any] | None, api: str) -> list[Problem]:
    agent = spec.name
    if not isinstance(params, Mapping):
        return [Problem("params", "type", "params is required and must be an object.")]
    images = {i.name: i for i in spec.inputs}
    problems: list[Problem] = []
    # The official clients repeat the image fields in params, so they are known there too.
    unknown = sorted(set(params) - set(spec.param_names) - set(images))
    if unknown:
        known = ", ".join(sorted(spec.param_names))
        problems.append(
            Problem(unknown[0], "unknown", f"Unknown parameter(s) for {agent}: {', '.join(unknown)}. Known: {known}.")
        )
    for param in spec.params:
        value = params.get(param.name)
        if value is None or (param.kind in ("str", "enum") and isinstance(value, str) and not value.strip()):
            if param.needed(api):
                hint = f": {param.doc}" if param.doc else ""
                problems.append(Problem(param.name, "required", f"{param.name} is required for {agent}{hint}."))
            continue
        problem = _kind_problem(param, value)
        if problem:
            problems.append(problem)
    if inputs is not None and not isinstance(inputs, Mapping):
        return [*problems, Problem("input", "type", "input must be an object.")]
    problems.extend(_input_problems(spec, {k: v for k, v in params.items() if k in images}, inputs))
    # Rules read the values the service would use, defaults included. A bad value counts
    # as given, but a rule conditioned on it or about it is skipped: it has its problem.
    # The images count as values too (a rule may limit a list by a parameter), from
    # params or inputs as the service reads them.
    bad = {p.key for p in problems}
    given_images = {k: v for k, v in params.items() if k in images}
    if inputs is not None:
        given_images.update({k: v for k, v in inputs.items() if k in images})
    effective = {**spec.defaults(), **params, **given_images}
    for rule in spec.rules:
        if {getattr(rule, "when", None), getattr(rule, "key", None)} & bad:
            continue
        problem = rule.problem(effective, agent)
        if problem is not None:
            problems.append(problem)
    return problems
