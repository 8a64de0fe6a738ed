"""Arguments of ``%weshop``: what each subcommand accepts, and how its words are read.

One function here declares the arguments of one subcommand; the magic's subcommand table
(:data:`weshop_nb.notebook._magics.SUBCOMMANDS`) names it beside the handler and the
summary, and builds the parser from it with :func:`make_parser`. The options of commands
that launch or watch a run (``--wait``, ``-o VAR``) are declared once, in
:func:`run_options`. The checks of a launch are the launch plan's
(:mod:`weshop_nb.work._plan`), shared with the studio; ``run``'s arguments become a plan
in :func:`launch_plan`.

Parsers are IPython's ``MagicArgumentParser`` (argparse that raises ``UsageError``),
fed by IPython's shell-like splitter, so ``--name "spring look"`` works as in a shell.
"""

from __future__ import annotations

import argparse
import difflib
import os
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser, MagicHelpFormatter

from ..contract import BATCH_RANGE, GENERATED_CONTENT, MASK_TYPES, POSES, STATUSES

#: Adds a subcommand's arguments to its parser.
Arguments = Callable[[MagicArgumentParser], None]


def _variable_name(text: str) -> str:
    if not text.isidentifier():
        raise argparse.ArgumentTypeError(f"-o needs a variable name, got {text!r}.")
    return text


def _pair(option: str, what: str) -> Any:
    def parse(text: str) -> tuple[str, str]:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"{option} needs {what}, got {text!r}.")
        return key.strip(), value

    return parse


def _one_of(choices: tuple[str, ...]) -> str:
    return ", ".join(choices)


class _HelpFormatter(MagicHelpFormatter):
    """IPython's magic help, as a person reads it: ``usage: %weshop NAME ...``.

    IPython's own prefixes the usage with an RST ``::`` line and a second ``%``, which
    turns every line command into a cell magic on screen.
    """

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = "usage: ") -> None:
        argparse.RawDescriptionHelpFormatter.add_usage(self, usage, actions, groups, prefix)


def make_parser(prog: str, description: str, arguments: Arguments | None) -> MagicArgumentParser:
    """The parser of one subcommand: ``prog`` (``%weshop NAME``) with ``arguments`` added."""
    parser = MagicArgumentParser(prog=prog, description=description, formatter_class=_HelpFormatter)
    if arguments is not None:
        arguments(parser)
    return parser


def read(parser: MagicArgumentParser, argv: list[str], name: str) -> Any:
    """``argv`` parsed by ``parser``; a mistake is a ``UsageError`` that suggests the option meant."""
    try:
        return parser.parse_args(argv)
    except UsageError as exc:
        hints = _option_hints(parser, argv) + _quote_hint(str(exc), argv)
        said = str(exc).rstrip(".")  # argparse's own messages have no period; our type checks do
        raise UsageError(f"{said}.{hints} `%weshop help {name}` lists every option.") from None


def without_comment(argv: list[str]) -> list[str]:
    """``argv`` up to a word starting with ``#``: a comment after a line magic (``%weshop demo  # start it``)."""
    for index, word in enumerate(argv):
        if word.startswith("#"):
            return argv[:index]
    return argv


def _quote_hint(message: str, argv: list[str]) -> str:
    """' Put it in quotes: ...' when unrecognised words continue the value before them as a path with spaces."""
    _, found, rest = message.partition("unrecognized arguments: ")
    if not found or not rest.strip():
        return ""
    first = rest.split()[0]
    if first.startswith("-") or first not in argv:
        return ""
    start = argv.index(first)
    end = start
    while end < len(argv) and not argv[end].startswith("-"):
        end += 1
    if start == 0 or argv[start - 1].startswith("-"):
        return ""
    joined = " ".join(argv[start - 1 : end])
    looks_like_path = "/" in joined or "\\" in joined or "." in argv[end - 1] or os.path.exists(joined)
    if not looks_like_path:
        return ""
    option = next((word for word in reversed(argv[: start - 1]) if word.startswith("-")), "")
    return f' A name with spaces needs quotes: {option} "{joined}".'.replace("  ", " ")


def _option_hints(parser: MagicArgumentParser, argv: list[str]) -> str:
    """' Did you mean --location?' for each option of ``argv`` the parser does not know."""
    known = [option for option in parser._option_string_actions if option.startswith("--")]
    hints = []
    for word in argv:
        option = word.split("=", 1)[0]
        if option.startswith("--") and option not in known and not any(k.startswith(option) for k in known):
            close = difflib.get_close_matches(option, known, n=1, cutoff=0.6)
            if close:
                hints.append(f" Did you mean {close[0]} (not {option})?")
    return "".join(hints)


# -- the arguments of each subcommand ------------------------------------------------------


def run_options(p: MagicArgumentParser) -> None:
    """``--wait`` and ``-o VAR``: the options of every subcommand that starts or watches a run."""
    p.add_argument("--wait", action="store_true", help="block until every execution is finished")
    p.add_argument("-o", "--output", metavar="VAR", type=_variable_name, help="store the Run in this variable")


def help_arguments(p: MagicArgumentParser) -> None:
    p.add_argument("topic", nargs="?", help="a subcommand or an agent")


def demo_arguments(p: MagicArgumentParser) -> None:
    p.add_argument("--latency", type=float, default=None, help="seconds per execution")
    p.add_argument("--failure-rate", type=float, default=0.0, help="share of executions that fail")
    p.add_argument("--seed", type=int, default=None, help="make ids and outcomes repeatable")


def login_arguments(p: MagicArgumentParser) -> None:
    p.add_argument("--base-url", default=None, help="service URL (default WESHOP_BASE_URL or the public service)")
    # Accepted only to be refused without being repeated: a key typed in a cell is saved with the notebook.
    p.add_argument("--key", "--api-key", dest="typed_key", default=None, help=argparse.SUPPRESS)
    p.add_argument("typed_words", nargs="*", help=argparse.SUPPRESS)


def info_arguments(p: MagicArgumentParser) -> None:
    p.add_argument("agent", nargs="?", help="agent name (default aimodel)")
    p.add_argument("version", nargs="?", help="agent version (default v1.0)")
    p.add_argument("--category", help="only entries of this category, e.g. womenswear")
    p.add_argument("--tag", help='only entries with this tag, e.g. "Film grain"')


def upload_arguments(p: MagicArgumentParser) -> None:
    p.add_argument("path")


def status_arguments(p: MagicArgumentParser) -> None:
    p.add_argument("execution_id", nargs="?")
    p.add_argument("--task", help="show this task instead")


def delete_arguments(p: MagicArgumentParser) -> None:
    p.add_argument("task_id")


def _history_filters(p: MagicArgumentParser) -> None:
    """Which executions of the history: shared by ``history``, ``compare``, ``rank`` and ``judge``."""
    p.add_argument("--task", help="only this task")
    p.add_argument("--status", help=f"only this status (or several, comma-separated): {_one_of(STATUSES)}")
    p.add_argument(
        "--since",
        metavar="TIME",
        help="only executions at or after this time: 2026-11-24, '2026-11-24 10:00', 7d, 12h, today, yesterday",
    )
    p.add_argument("--until", metavar="TIME", help="only executions at or before this time (a day: all of it)")
    p.add_argument("--text", help="only prompts containing this text")
    p.add_argument("--limit", type=int, help="only the N most recent")


def history_arguments(p: MagicArgumentParser) -> None:
    _history_filters(p)
    p.add_argument("--sync", action="store_true", help="first fetch what the service holds")
    p.add_argument(
        "--copy-to", metavar="URL", help="copy this history into the one at URL (a team's PostgreSQL server); once"
    )


def compare_arguments(p: MagicArgumentParser) -> None:
    _history_filters(p)
    p.add_argument("--by", default="prompt,location_name", help="one or two columns, comma-separated")


def rank_arguments(p: MagicArgumentParser) -> None:
    _history_filters(p)
    p.add_argument("--by", default="prompt", help="one or more columns, comma-separated (default: prompt)")
    p.add_argument(
        "--method",
        choices=("stars", "pairwise"),
        default="stars",
        help="stars: the ratings' means; pairwise: strengths from blind pairs (%%weshop judge)",
    )
    p.add_argument("--rater", help="only this person's ratings or judgements (default: everyone's)")


def judge_arguments(p: MagicArgumentParser) -> None:
    _history_filters(p)
    p.add_argument("--by", default="prompt", help="the column(s) the two pictures differ in, comma-separated")


def panel_arguments(p: MagicArgumentParser) -> None:
    p.add_argument("--image", help="preselect this photo (a path on the kernel's machine)")
    p.add_argument("--location", action="append", default=[], help="preselect a location (id or name); repeatable")
    p.add_argument("--model", action="append", default=[], help="preselect a fashion model (id or name); repeatable")
    p.add_argument("--prompt", help="prefill the prompt")
    p.add_argument("--dir", help="where the file chooser starts")


def retry_arguments(p: MagicArgumentParser) -> None:
    p.add_argument("execution_id", nargs="*", help="retry these executions (of any run of this session) instead")
    run_options(p)


def run_arguments(p: MagicArgumentParser) -> None:
    source = p.add_argument_group("source (one of)")
    source.add_argument(
        "--image",
        action="append",
        default=[],
        help="a picture (uploaded), an image URL, a quoted glob ('shoot/*.jpg') or a folder: one task per "
        "picture; repeat for a set",
    )
    source.add_argument("--task", help="reuse an existing task by id")
    p.add_argument("--name", help="taskName of a new task")
    p.add_argument("--agent", help="agent (default from %%config WeShopMagics.agent); `%%weshop agents` lists them")
    p.add_argument("--version", help="agent version")
    p.add_argument("--location", action="append", default=[], help="location id or name; repeat for a sweep")
    p.add_argument("--model", action="append", default=[], help="fashion model id or name; repeat for a sweep")
    p.add_argument("--mask", choices=MASK_TYPES, metavar="TYPE", help=f"maskType (what is kept): {_one_of(MASK_TYPES)}")
    p.add_argument("--custom-mask", help="PNG mask (path or URL) for --mask custom")
    p.add_argument(
        "--mode", choices=GENERATED_CONTENT, metavar="MODE", help=f"generatedContent: {_one_of(GENERATED_CONTENT)}"
    )
    p.add_argument("--pose", choices=POSES, metavar="POSE", help=f"pose control: {_one_of(POSES)}")
    p.add_argument("--generate-version", help="generateVersion: aipose lite or pro; virtualtryon weshopFlash...")
    p.add_argument(
        "--batch",
        type=int,
        metavar="N",
        help=f"images per execution, {BATCH_RANGE[0]}-{BATCH_RANGE[1]} (default: not sent; the service makes 1)",
    )
    p.add_argument("--negative", help="negTextDescription: what to avoid")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        type=_pair("--param", "KEY=VALUE"),
        metavar="KEY=VALUE",
        help="any parameter of the agent (`%%weshop help AGENT`); repeat a key with other values to sweep",
    )
    p.add_argument(
        "--input",
        action="append",
        default=[],
        type=_pair("--input", "KEY=PATH|URL"),
        metavar="KEY=PATH|URL",
        help="another image of the agent (e.g. fashionModelImage); local files are uploaded",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="N executions of each combination on purpose (repeats in the sweep are otherwise collapsed)",
    )
    p.add_argument(
        "--skip-done",
        action="store_true",
        help="launch only the combinations the history has not seen succeed here (rerun a set after a crash)",
    )
    p.add_argument(
        "--budget", type=int, metavar="POINTS", help="refuse the launch if its estimate is above POINTS (runs API)"
    )
    p.add_argument("--estimate", action="store_true", help="print what the launch would cost; launch nothing")
    p.add_argument("--callback", help="callbackUrl the service posts status changes to")
    run_options(p)


def pictures(args: Any) -> list[str]:
    """``--image``'s values as the set of pictures (files, URLs, globs, folders expanded); each
    value that matches nothing is named in one ``UsageError``, before anything is sent."""
    from ..work._pictures import PictureError, expand_pictures

    try:
        return expand_pictures(args.image, "--image", unique=False) if args.image else []
    except PictureError as exc:
        raise UsageError(str(exc)) from None


def launch_plan(
    args: Any,
    prompts: list[str],
    *,
    agent: str,
    version: str,
    defaults: tuple[str, str],
    api: str = "v1",
    images: list[str] | None = None,
) -> Any:
    """``run``'s arguments as a checked launch plan; a broken rule is a ``UsageError`` before any request.

    ``images``: the set of pictures (:func:`pictures`); by default ``--image`` as given.
    """
    from ..work._plan import LaunchPlan, PlanError

    if bool(args.image) == bool(args.task):
        raise UsageError("Give exactly one of --image PATH|URL (creates a task) or --task ID (reuses one).")
    repeat = getattr(args, "repeat", 1)
    if repeat < 1:
        raise UsageError(f"--repeat must be 1 or more, got {repeat}.")
    if images is None:
        images = [args.image] if isinstance(args.image, str) else list(args.image or [])
    pairs = list(getattr(args, "input", None) or [])
    if args.task and pairs:
        raise UsageError("--input goes with --image (a new task); --task reuses a task and its images.")
    values: dict[str, list[str]] = {}
    for key, value in getattr(args, "param", None) or []:
        values.setdefault(key, []).append(value)
    plan = LaunchPlan(
        agent=agent,
        version=version,
        prompts=prompts,
        locations=args.location,
        fashion_models=args.model,
        mask=args.mask,
        custom_mask=args.custom_mask,
        mode=args.mode,
        pose=args.pose,
        generate_version=args.generate_version,
        batch=args.batch,
        negative=args.negative,
        default_mask=defaults[0],
        default_mode=defaults[1],
        param_values=tuple((key, tuple(given)) for key, given in values.items()),
        image=images[0] if images else None,
        images=tuple(images),
        repeat=repeat,
        input_pairs=tuple(pairs),
        api=api,
    )
    try:
        return plan.check()
    except PlanError as exc:
        raise UsageError(str(exc)) from None
