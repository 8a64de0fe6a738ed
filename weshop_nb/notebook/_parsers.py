"""Arguments of ``%weshop``: one parser per subcommand.

The checks of a launch are the launch plan's (:mod:`weshop_nb.work._plan`), shared with
the studio; ``run``'s arguments become a plan in :func:`launch_plan`.

Parsers are IPython's ``MagicArgumentParser`` (argparse that raises ``UsageError``),
fed by IPython's shell-like splitter, so ``--name "spring look"`` works as in a shell.
"""

from __future__ import annotations

import argparse
import difflib
from functools import lru_cache
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser, MagicHelpFormatter
from IPython.utils.process import arg_split

from .. import contract
from ..contract import BATCH_RANGE, GENERATED_CONTENT, MASK_TYPES, POSES, STATUSES

OVERVIEW = """
    %weshop: the WeShop AI service from a notebook.

      %weshop demo                      use the offline emulator (no key needed)
      %weshop login                     ask for your API key (never echoed or saved)
      %weshop info [AGENT [VERSION]]    locations, fashion models, backgrounds   [--category C] [--tag T]
      %weshop upload PATH               upload a picture, get its URL
      %%weshop run --image PATH|URL     launch executions; the cell body is the prompt
                 [--agent NAME] [--param KEY=VALUE]... [--input KEY=PATH|URL]... [--estimate]
      %weshop agents                    the agents and what they make   (help AGENT: its parameters)
      %weshop status EXEC_ID            one execution   (or --task ID for a task)
      %weshop delete TASK_ID            delete a task and its executions
      %weshop history                   every execution ever seen, as a DataFrame   [--sync]
      %weshop compare --by prompt,location_name   pictures side by side
      %weshop retry                     launch the last run's failed executions again   [--wait] [-o VAR]
      %weshop stop                      stop watching runs (the service has no cancel call)
      %weshop resume                    watch again what was unfinished when a kernel died   [--wait]
      %weshop panel                     the studio: pick, choose, launch, watch   [--image PATH]
      %weshop help SUBCOMMAND           every option of one subcommand

    Examples:
      %%weshop run --image garment.jpg --location "Sunny Beach" --model Eve --wait -o run
      A young woman walking on the beach in {season}
      ---
      The same outfit at golden hour

      %%weshop run --agent virtualtryon --image garment.jpg --input fashionModelImage=person.jpg \
          --param generateVersion=weshopPro --param descriptionType=auto \
          --param aspectRatio=3:4 --param aspectRatio=9:16

    Several prompts (split by a line holding only ---), several --location, several
    --model and a --param key given several values make a sweep: one execution per
    combination, all launched at once. {name} takes a value from the notebook; {{ and }}
    are literal braces.
"""

COMMANDS = (
    "resume",
    "retry",
    "stop",
    "help",
    "agents",
    "demo",
    "login",
    "info",
    "upload",
    "run",
    "status",
    "history",
    "compare",
    "delete",
    "panel",
)


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


class _HelpFormatter(MagicHelpFormatter):
    """IPython's magic help, as a person reads it: ``usage: %weshop NAME ...``.

    IPython's own prefixes the usage with an RST ``::`` line and a second ``%``, which
    turns every line command into a cell magic on screen.
    """

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = "usage: ") -> None:
        argparse.RawDescriptionHelpFormatter.add_usage(self, usage, actions, groups, prefix)


def _parser(name: str, description: str) -> MagicArgumentParser:
    prog = f"%%weshop {name}" if name == "run" else f"%weshop {name}"
    return MagicArgumentParser(prog=prog, description=description, formatter_class=_HelpFormatter)


@lru_cache(maxsize=1)
def _parsers() -> dict[str, MagicArgumentParser]:
    parsers = {}
    p = parsers["help"] = _parser("help", "List the subcommands, every option of one, or one agent's parameters.")
    p.add_argument("topic", nargs="?", help="a subcommand or an agent")
    parsers["agents"] = _parser("agents", "List the agents of the registry: name, version, what each makes.")
    p = parsers["demo"] = _parser("demo", "Start the offline emulator in this kernel and use it.")
    p.add_argument("--latency", type=float, default=None, help="seconds per execution")
    p.add_argument("--failure-rate", type=float, default=0.0, help="share of executions that fail")
    p.add_argument("--seed", type=int, default=None, help="make ids and outcomes repeatable")
    p = parsers["login"] = _parser("login", "Ask for the API key (not echoed, not saved) and use it.")
    p.add_argument("--base-url", default=None, help="service URL (default WESHOP_BASE_URL or the public service)")
    p = parsers["info"] = _parser("info", "Show the presets of an agent: locations, fashion models, backgrounds.")
    p.add_argument("agent", nargs="?", help="agent name (default aimodel)")
    p.add_argument("version", nargs="?", help="agent version (default v1.0)")
    p.add_argument("--category", help="only entries of this category, e.g. womenswear")
    p.add_argument("--tag", help='only entries with this tag, e.g. "Film grain"')
    p = parsers["upload"] = _parser("upload", "Upload a picture (rules checked first) and return its URL.")
    p.add_argument("path")
    p = parsers["status"] = _parser("status", "Show one execution, or a task's recent executions.")
    p.add_argument("execution_id", nargs="?")
    p.add_argument("--task", help="show this task instead")
    p = parsers["delete"] = _parser("delete", "Delete a task and its executions on the service.")
    p.add_argument("task_id")
    for name, description in (
        ("history", "Every execution ever seen (kept on disk), as a DataFrame."),
        ("compare", "Result pictures side by side, by one or two columns of the history."),
    ):
        p = parsers[name] = _parser(name, description)
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
    parsers["history"].add_argument("--sync", action="store_true", help="first fetch what the service holds")
    parsers["compare"].add_argument("--by", default="prompt,location_name", help="one or two columns, comma-separated")
    p = parsers["panel"] = _parser("panel", "Open the studio: pick a photo, choose, launch, watch the grid.")
    p.add_argument("--image", help="preselect this photo (a path on the kernel's machine)")
    p.add_argument("--location", action="append", default=[], help="preselect a location (id or name); repeatable")
    p.add_argument("--model", action="append", default=[], help="preselect a fashion model (id or name); repeatable")
    p.add_argument("--prompt", help="prefill the prompt")
    p.add_argument("--dir", help="where the file chooser starts")
    p = parsers["resume"] = _parser("resume", "Watch again every execution the history holds as unfinished.")
    p.add_argument("--wait", action="store_true", help="block until they are all finished")
    p.add_argument("-o", "--output", metavar="VAR", type=_variable_name, help="store the Run in this variable")
    p = parsers["retry"] = _parser(
        "retry", "Launch again, with the same parameters, the failed executions of the last run (a new run)."
    )
    p.add_argument("execution_id", nargs="*", help="retry these executions (of any run of this session) instead")
    p.add_argument("--wait", action="store_true", help="block until they are all finished")
    p.add_argument("-o", "--output", metavar="VAR", type=_variable_name, help="store the new Run in this variable")
    parsers["stop"] = _parser(
        "stop",
        "Stop watching this session's runs. The executions go on at the service, which has\n"
        "no cancel call; run.start() or %weshop resume watches them again.",
    )
    parsers["run"] = _run_parser()
    return parsers


def _run_parser() -> MagicArgumentParser:
    p = _parser("run", "Launch executions; the cell body holds the prompt(s).")
    source = p.add_argument_group("source (one of)")
    source.add_argument("--image", help="a local picture (uploaded) or an image URL: creates a task")
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
    p.add_argument("--estimate", action="store_true", help="print what the launch would cost; launch nothing")
    p.add_argument("--callback", help="callbackUrl the service posts status changes to")
    p.add_argument("--wait", action="store_true", help="block until every execution is finished")
    p.add_argument("-o", "--output", metavar="VAR", type=_variable_name, help="store the Run in this variable")
    return p


def _one_of(choices: tuple[str, ...]) -> str:
    return ", ".join(choices)


def parse(line: str) -> tuple[str, Any]:
    """(subcommand, parsed arguments) of a ``%weshop`` line; errors are ``UsageError``."""
    argv = arg_split(line or "", posix=True)
    if not argv or argv[0] in ("-h", "--help"):
        argv = ["help"]
    command = argv[0]
    if command not in COMMANDS:
        close = difflib.get_close_matches(command, COMMANDS, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise UsageError(f"Unknown subcommand {command!r}.{hint} `%weshop help` lists them.")
    parser = _parsers()[command]
    try:
        return command, parser.parse_args(argv[1:])
    except UsageError as exc:
        hints = _option_hints(parser, argv[1:])
        raise UsageError(f"{exc}.{hints} `%weshop help {command}` lists every option.") from None


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


def help_for(topic: str) -> str:
    """The options of a subcommand, or the inputs, parameters and rules of an agent."""
    from ._agent_help import agent_help

    found = contract.spec(topic)
    if found is not None:
        return agent_help(found)
    if topic not in COMMANDS:
        raise UsageError(f"No subcommand or agent {topic!r}; `%weshop help` and `%weshop agents` list them.")
    return _parsers()[topic].format_help()


def launch_plan(
    args: Any, prompts: list[str], *, agent: str, version: str, defaults: tuple[str, str], api: str = "v1"
) -> Any:
    """``run``'s arguments as a checked launch plan; a broken rule is a ``UsageError`` before any request."""
    from ..work._plan import LaunchPlan, PlanError

    if bool(args.image) == bool(args.task):
        raise UsageError("Give exactly one of --image PATH|URL (creates a task) or --task ID (reuses one).")
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
        image=args.image or None,
        input_pairs=tuple(pairs),
        api=api,
    )
    try:
        return plan.check()
    except PlanError as exc:
        raise UsageError(str(exc)) from None
