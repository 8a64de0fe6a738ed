"""``%weshop`` and ``%%weshop``: the service from a notebook cell.

Every subcommand is one row of :data:`SUBCOMMANDS`: its name, the magic's method that
does it, its one-line summary and its arguments (declared in :mod:`._parsers`). The
dispatch, ``%weshop help`` and the overview all read that table.

Settings are traitlets (``%config WeShopMagics.poll_interval = 2``); arguments parse
like a shell; user mistakes and service refusals raise ``UsageError``, which IPython
shows as one line, without a traceback. Heavy modules (requests, Pillow, pandas,
ipywidgets, werkzeug) are imported by the subcommands that need them, not at load.
"""

from __future__ import annotations

import difflib
import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.utils.process import arg_split
from traitlets import Enum, Float, Int, Unicode, observe, validate

from .. import contract
from ..config import API_KEY_VAR, environ_value
from ..contract import is_url
from ..service._errors import AuthenticationError, ServiceError, WaitTimeout, WeShopError
from . import _parsers as magic_parsers
from ._display import show as _show
from ._paths import local_file
from ._prompts import PromptError, prompts_from_cell
from ._settings import RANGES, EnvWatch, check_setting

__all__ = [
    "WeShopMagics",
    "Subcommand",
    "SUBCOMMANDS",
    "OVERVIEW",
    "help_for",
    "parse",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def _refusals() -> tuple[type[Exception], ...]:
    """The errors a command says in one line, without a traceback: a cell or option the user can fix.

    Imported when one is raised: the work layer loads with the first command that uses it,
    not with the extension.
    """
    from ..work._estimate import BudgetError
    from ..work._filters import FilterError
    from ..work._launch import RetryError
    from ..work._pictures import PictureError
    from ..work._plan import PlanError

    return PromptError, FilterError, RetryError, PictureError, PlanError, BudgetError


_NO_CLIENT = (
    "No WeShop API key in this session. Run `%weshop login` (asks for the key without echoing it), "
    "set WESHOP_API_KEY before starting Jupyter, or run `%weshop demo` to use the offline emulator."
)


@magics_class
class WeShopMagics(Magics):
    """The ``%weshop`` magic. Its settings are traitlets, set with ``%config``."""

    poll_interval = Float(2.0, help="Seconds between polls of a task while its executions change.").tag(config=True)
    max_poll_interval = Float(15.0, help="Longest pause between polls while nothing changes.").tag(config=True)
    agent = Unicode("aimodel", help="Agent used by `run` and `info` when none is given.").tag(config=True)
    agent_version = Unicode("v1.0", help="Agent version used when none is given.").tag(config=True)
    mask_type = Unicode("autoApparelSegment", help="maskType sent by `run` unless --mask is given.").tag(config=True)
    generated_content = Unicode("freeCreation", help="generatedContent sent by `run` unless --mode is given.").tag(
        config=True
    )
    thumbnail_size = Int(
        192, help="CSS width in pixels of each execution's card in run grids; pictures are embedded at 2x."
    ).tag(config=True)
    picture_format = Enum(
        ["webp", "jpeg"],
        "webp",
        help="Format of the pictures embedded in outputs: webp (smaller; every current browser, GitHub, "
        "VS Code) or jpeg (for a front-end that cannot show webp).",
    ).tag(config=True)
    max_concurrent_launches = Int(8, help="Executions started at the same time by one `run`.").tag(config=True)
    wait_timeout = Float(1800.0, help="Seconds `run --wait` blocks before returning the unfinished run.").tag(
        config=True
    )
    demo_latency = Float(2.0, help="Seconds each execution takes in `%weshop demo`.").tag(config=True)
    give_up_after = Float(
        300.0,
        help="Seconds of nothing but failed polls (the service unreachable) after which watching stops and "
        "says why; `%weshop resume` or run.watch() watches again.",
    ).tag(config=True)
    history_url = Unicode(
        "",
        help="A history a team shares: postgresql://user@host:5432/db keeps every table there (the password best in "
        "PGPASSWORD or ~/.pgpass). Empty: WESHOP_NB_HISTORY_URL, else the file at home.",
    ).tag(config=True)

    @observe("history_url")
    def _on_history_url(self, change: Any) -> None:
        from ..work._history import use_history_url

        shown = use_history_url(change["new"])
        if shown != change["new"]:  # the connection keeps the password; %config shows the URL without it
            self.history_url = shown

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.session: Any = None
        self._emulator: Any = None
        self._env = EnvWatch()
        self._from_env = False  # the session's client came from WESHOP_API_KEY

    @property
    def emulator(self) -> Any:
        """The offline emulator ``%weshop demo`` started in this kernel (``.stats()``, ``.base_url``), or None."""
        return self._emulator

    # -- settings --------------------------------------------------------------------------

    @validate(*RANGES)
    def _check_range(self, proposal: Any) -> Any:
        trait = proposal["trait"]
        return check_setting(trait.name, proposal["value"], trait.help)

    @observe(
        "poll_interval",
        "max_poll_interval",
        "max_concurrent_launches",
        "thumbnail_size",
        "picture_format",
        "give_up_after",
    )
    def _on_setting_change(self, change: Any) -> None:
        # `%config` after the session started: the next run uses the new value.
        if self.session is not None:
            self.session.configure(**self._settings())

    def _settings(self) -> dict[str, Any]:
        return {
            "thumbnail_size": self.thumbnail_size,
            "picture_format": self.picture_format,
            "poll_interval": self.poll_interval,
            "max_poll_interval": self.max_poll_interval,
            "max_concurrent": self.max_concurrent_launches,
            "give_up_after": self.give_up_after,
        }

    # -- the session's client ------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The client of this session: from `login`, `demo`, or WESHOP_API_KEY."""
        return self._session().client

    def _session(self) -> Any:
        from ..service._client import WeShopClient

        changed = self._env.changed()
        if changed and self.session is not None and (self._from_env or environ_value(API_KEY_VAR)):
            # The environment moved under a running session: follow it, as `%weshop login` would.
            self.session.close()
            self.session = None
            if environ_value(API_KEY_VAR):
                self._use(WeShopClient(), from_env=True)
                names = " and ".join(changed)
                print(f"{names} changed in the environment: now using {self.session.client.base_url}.")
        if self.session is None:
            # A blank key is no key (environ_value, the client's rule): this message, not the client's refusal.
            if not environ_value(API_KEY_VAR):
                raise UsageError(_NO_CLIENT)
            self._use(WeShopClient(), from_env=True)
        return self.session

    def _use(self, client: Any, *, from_env: bool = False) -> None:
        from ..work._session import Session

        if self.session is not None:
            self.session.close()
        self.session = Session(client, **self._settings())
        self._from_env = from_env
        self._env.mark()

    def close(self) -> None:
        """Stop watching runs and the demo emulator (on unload)."""
        if self.session is not None:
            self.session.close()
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None

    # -- dispatch ------------------------------------------------------------------------

    @line_cell_magic
    def weshop(self, line: str = "", cell: str | None = None) -> Any:
        """Use the WeShop AI service. ``%weshop help`` lists the subcommands."""
        subcommand, args = parse(line)
        # help reads no cell body and refuses none: `%%weshop` alone shows the overview.
        if cell is not None and not subcommand.cell and subcommand.name != "help":
            name = subcommand.name
            raise UsageError(f"Only `%%weshop run` takes a cell body; use `%weshop {name}` on one line.")
        try:
            return subcommand.handler(self, args, cell)
        except WeShopError as exc:  # the service's kind of refusal is worth its name
            raise UsageError(f"{type(exc).__name__}: {exc}") from None
        except _refusals() as exc:
            raise UsageError(str(exc)) from None  # one prefix: IPython's UsageError
        except OSError as exc:  # a local file that is missing or unreadable
            raise UsageError(str(exc)) from None

    # -- subcommands (each one a row of SUBCOMMANDS) ---------------------------------------

    def _cmd_help(self, args: Any, cell: str | None) -> None:
        print(help_for(args.topic) if args.topic else OVERVIEW)

    def _cmd_demo(self, args: Any, cell: str | None) -> None:
        from .. import emulator
        from ..service._client import WeShopClient
        from ..work._html import banner_html

        if self._emulator is None:
            latency = self.demo_latency if args.latency is None else args.latency
            self._emulator = emulator.serve(latency=latency, failure_rate=args.failure_rate, seed=args.seed)
        self._use(WeShopClient(api_key=self._emulator.api_key, base_url=self._emulator.base_url))
        message = (
            f"Demo mode: weshop_nb now talks to the offline emulator at {self._emulator.base_url}. "
            "Its pictures are synthetic and nothing is billed. `%weshop login` switches to the real service."
        )
        _show(banner_html(message, tone="warning"), message)

    def _cmd_login(self, args: Any, cell: str | None) -> None:
        from ..service._client import WeShopClient

        if args.typed_key or args.typed_words:
            # Never repeated back: the refusal is saved with the notebook too.
            raise UsageError(
                "Not taking a key typed on the line: a key in a cell is saved with the notebook (and its outputs, "
                "its history, any copy shared). Run %weshop login alone (it asks without echoing), or set "
                f"{API_KEY_VAR} before starting Jupyter."
            )
        # The key is never a local here: this frame is in the traceback of every error below.
        client = WeShopClient(api_key=_ask_key(), base_url=args.base_url)
        try:
            client.agent_info(self.agent, self.agent_version)
        except AuthenticationError:
            raise UsageError(f"{client.base_url} refused that key; nothing changed. Check it and try again.") from None
        except ServiceError as exc:
            print(f"Could not check the key now ({exc}); using it anyway.")
        self._use(client)
        print(f"Logged in to {client.base_url}. The key stays in this kernel's memory only.")

    def _cmd_info(self, args: Any, cell: str | None) -> None:
        from ..work._html import catalogue_html

        agent = args.agent or self.agent
        info = self.client.agent_info(agent, args.version or self.agent_version)
        sections = [
            (title, entries)
            for title, entries in (
                ("Locations", info.locations),
                ("Fashion models", info.fashion_models),
                ("Backgrounds", info.backgrounds),
            )
            if entries
        ]
        if not sections:
            print(f"{agent} has no presets (no locations, fashion models or backgrounds).")
        from ..work._catalogue import catalogue_choices, filter_catalogue

        for title, entries in sections:
            chosen = filter_catalogue(entries, args.category, args.tag)
            if not chosen and (args.category or args.tag):
                print(f"{title}: none match; {catalogue_choices(entries)}")
                continue
            thumbs = self._catalogue_thumbnails([entry.image for entry in chosen])
            text = f"{title} ({len(chosen)}): " + ", ".join(f"{e.name} ({e.id})" for e in chosen)
            _show(catalogue_html(chosen, thumbs, title), text)

    def _catalogue_thumbnails(self, urls: list[str | None]) -> list[bytes]:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=8) as pool:  # a missing one is drawn as "unavailable"
            return list(pool.map(self._session().icon, urls))

    def _cmd_upload(self, args: Any, cell: str | None) -> str:
        return self.client.upload_image(local_file(args.path, "upload"))

    def _cmd_status(self, args: Any, cell: str | None) -> None:
        from ..work._html import EXECUTION_WIDTH, execution_html, task_html

        if args.task:
            task = self.client.get_task(args.task)
            _show(task_html(task), f"Task {task.id}: {len(task.executions)} recent execution(s)")
            return
        if not args.execution_id:
            raise UsageError("Give an execution id, or --task ID.")
        execution = self.client.get_execution(args.execution_id)
        thumbs = [self.session.thumbnail(url, EXECUTION_WIDTH) for url in execution.stills]
        _show(execution_html(execution, thumbs), f"Execution {execution.id}: {execution.status}")

    def _cmd_delete(self, args: Any, cell: str | None) -> None:
        self._session().delete_task(args.task_id)
        print(f"Deleted task {args.task_id} and its executions.")

    def _history(self) -> Any:
        from ..work._history import require_history

        return require_history()

    @staticmethod
    def _filters(args: Any) -> dict[str, Any]:
        return {
            "task": args.task,
            "status": args.status,
            "since": args.since,
            "until": args.until,
            "text": args.text,
            "limit": args.limit,
        }

    def _cmd_history(self, args: Any, cell: str | None) -> Any:
        history = self._history()
        if args.copy_to:
            copied = history.copy_to(args.copy_to)
            print("Copied, new rows (a second copy adds none): " + ", ".join(f"{n} {t}" for t, n in copied.items()))
            return None
        if args.sync:
            seen = history.sync(self.client, args.task)
            print(f"Synced: the service holds {seen} recent execution(s) of the known tasks.")
        return history.executions(**self._filters(args))

    def _cmd_compare(self, args: Any, cell: str | None) -> Any:
        fetch = self.session.client.fetch_image if self.session is not None else None
        try:
            return self._history().compare(args.by, fetch=fetch, **self._filters(args))
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def _cmd_rank(self, args: Any, cell: str | None) -> Any:
        try:
            return self._history().rank(args.by, method=args.method, rater=args.rater, **self._filters(args))
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def _cmd_judge(self, args: Any, cell: str | None) -> Any:
        try:
            judging = self._history().judge(args.by, **self._filters(args))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if judging.done:
            print(
                f"No pair to judge by {args.by}: no two pictures in the history were made alike but for {args.by} "
                "(or you judged them all). A sweep over it makes some: several prompts, scenes or models."
            )
        return judging

    def _cmd_resume(self, args: Any, cell: str | None) -> Any:
        session = self._session()
        unfinished = session.unfinished(self._history())  # syncs their tasks first
        if unfinished.empty:
            print(f"Nothing to resume: no unfinished execution from {session.client.base_url} in the history.")
            return None
        run = session.resume(unfinished)
        print(f"Watching {len(run.items)} unfinished execution(s) again.")
        return self._finish(run, args)

    def _cmd_retry(self, args: Any, cell: str | None) -> Any:
        session = self._session()
        if not session.runs:
            raise UsageError("Nothing to retry: no run in this session yet. `%%weshop run` launches one.")
        target = session.runs[-1]
        if args.execution_id:  # ids name executions of any run of this session, the latest holding them all
            wanted = set(args.execution_id)
            holders = [run for run in session.runs if wanted <= {i.execution.id for i in run.items if i.execution}]
            target = holders[-1] if holders else target
        run = session.retry(target, args.execution_id or None)
        print(f"Launched {len(run.items)} execution(s) again with the same parameters (a new run).")
        return self._finish(run, args)

    def _cmd_stop(self, args: Any, cell: str | None) -> None:
        watched = [run for run in (self.session.runs if self.session is not None else []) if run.watching]
        if not watched:
            print("Nothing is being watched.")
            return
        from ..work._run import NO_CANCEL

        unfinished = sum(not item.done for run in watched for item in run.items)
        for run in watched:
            run.stop()
        print(
            f"Stopped watching {len(watched)} run(s); their {unfinished} unfinished execution(s) go on at the "
            f"service ({NO_CANCEL}). run.start() or `%weshop resume` watches them again."
        )

    def _cmd_panel(self, args: Any, cell: str | None) -> Any:
        from .widgets._studio import Studio

        session = self._session()
        studio = Studio(session, start_dir=os.path.expanduser(args.dir) if args.dir else None)
        info = studio.choices.info
        if (args.location or args.model) and info is None:
            raise UsageError("Scenes and models could not be loaded; see the message in the panel.")
        if info is not None:
            studio.choices.locations.value = tuple(info.location(key).id for key in args.location)
            studio.choices.fashion_models.value = tuple(info.fashion_model(key).id for key in args.model)
        if args.prompt:
            studio.choices.prompts.value = args.prompt
        if args.image:
            studio.source.choose_path(local_file(args.image, "--image"))
        return studio

    def _cmd_agents(self, args: Any, cell: str | None) -> None:
        from ._agent_help import agents_text

        print(agents_text())

    # -- run: from the cell to a launched run --------------------------------------------
    # The arguments become a checked launch plan (weshop_nb.work._plan) before any request;
    # local files are looked for, names are looked up in the catalogue, the task is made, and
    # the session launches the plan's jobs. --estimate prices the sweep instead.

    def _cmd_run(self, args: Any, cell: str | None) -> Any:
        from ..work._launch import NOTHING_STARTED, LaunchInterrupted

        prompts = prompts_from_cell(cell, self.shell.user_ns if self.shell is not None else {})
        client = self.client
        agent, version = args.agent or self.agent, args.version or self.agent_version
        plan = magic_parsers.launch_plan(
            args,
            prompts,
            agent=agent,
            version=version,
            defaults=(self.mask_type, self.generated_content),
            api=client.api,
            images=magic_parsers.pictures(args),
        )
        # Local files are looked for before anything is sent (the pictures of --image already were).
        pictures = [("--custom-mask", args.custom_mask)]
        pictures += [(f"--input {key}", value) for key, value in getattr(args, "input", None) or []]
        for option, path in pictures:
            if isinstance(path, str) and path and not is_url(path):
                local_file(path, option)
        plan = self._looked_up(plan)
        plan = self._collapsed(plan)
        self._say_prompt(plan)
        if args.estimate:
            return self._estimate(args, plan)
        if args.budget is not None:
            self._session().check_budget(plan, args.budget)
        if plan.custom_mask is not None:
            plan = replace(plan, extra={"customMaskUrl": self._as_url(plan.custom_mask)})
        try:
            if args.task:
                task = self.client.get_task(args.task)
                # A task the user named keeps every execution; tasks made here are sharded (20 at most each).
                run = self.session.launch(plan.jobs(task), callback_url=args.callback, shard=False)
            else:
                run = self.session.launch_set(
                    plan, name=args.name, callback_url=args.callback, skip_done=args.skip_done
                )
        except LaunchInterrupted as stopped:
            # Ctrl-C while starting: what started is watched and bound; no traceback.
            if args.output:
                self.shell.user_ns[args.output] = stopped.run
            print(stopped.message(args.output or "run"))
            return stopped.run
        except KeyboardInterrupt:
            print(NOTHING_STARTED)  # while uploading or making tasks: no execution was sent
            return None
        return self._finish(run, args)

    def _looked_up(self, plan: Any) -> Any:
        """``plan`` with its locations and models as catalogue entries (names or ids as typed, looked up)."""
        if not (plan.locations or plan.fashion_models):
            return plan
        info = self.client.agent_info(plan.agent, plan.version)
        return replace(
            plan,
            locations=[info.location(key) for key in plan.locations],
            fashion_models=[info.fashion_model(key) for key in plan.fashion_models],
        )

    @staticmethod
    def _collapsed(plan: Any) -> Any:
        plan, line = plan.collapsed()
        if line:
            print(line)
        return plan

    @staticmethod
    def _say_prompt(plan: Any) -> None:
        """A launch without a prompt: refused where the agent needs one, said where it is optional."""
        refused, sentence = plan.without_prompt(
            "To add one, write it in the cell body under the %%weshop run line "
            "(several prompts: separate them with a line holding only ---)."
        )
        if refused:
            raise UsageError(sentence)
        if sentence:
            print(sentence)

    def _estimate(self, args: Any, plan: Any) -> None:
        """Print what the launch would cost (nothing is started; the runs API needs the images uploaded)."""
        from ..work._estimate import estimate_jobs

        if plan.custom_mask is not None:
            # The mask's URL is part of the body; on v1 nothing is sent, so any URL stands in.
            url = self._as_url(plan.custom_mask) if self.client.api == "runs" else contract.LOCAL_IMAGE
            plan = replace(plan, extra={"customMaskUrl": url})
        if args.task:
            estimate = estimate_jobs(self.client, plan.jobs(self.client.get_task(args.task)))
        else:
            estimate = self._session().estimate_set(plan)
        if args.output:
            self.shell.user_ns[args.output] = estimate
        print(estimate)

    def _as_url(self, source: str) -> str:
        if is_url(source):
            return source
        return self.client.upload_image(local_file(source, "--custom-mask"))

    def _finish(self, run: Any, args: Any) -> Any:
        """Store a run in ``-o VAR`` and wait for it when asked (the run options of ``run``, ``retry``, ``resume``)."""
        from ..work._run import WaitInterrupted, interrupted_message

        if args.output:
            self.shell.user_ns[args.output] = run
        if args.wait:
            try:
                run.wait(timeout=self.wait_timeout)
            except WaitTimeout:
                name = args.output or "the run"
                print(
                    f"Still running after {self.wait_timeout:g} s ({run.summary()}); "
                    f"{name} keeps updating (call .wait() again)."
                )
            except WaitInterrupted:
                # Ctrl-C: the run is returned (and shown) as it stands; `_` holds it without -o.
                print(interrupted_message(run, args.output or "_"))
        return run


def _ask_key() -> str:
    """The key typed at a getpass prompt (never echoed), or UsageError when none was or none can be."""
    from IPython.core.error import StdinNotImplementedError

    try:
        key = getpass.getpass("WeShop API key (not shown, not saved): ").strip()
    except (StdinNotImplementedError, EOFError):
        raise UsageError(
            "No one can type a key here (this notebook runs without input, e.g. under nbclient or papermill). "
            f"Set {API_KEY_VAR} in the environment before starting Jupyter (or the program that runs the "
            "notebook); or run %weshop demo for the offline emulator."
        ) from None
    if not key:
        raise UsageError("No key entered; nothing changed.")
    return key


@dataclass(frozen=True)
class Subcommand:
    """One row of :data:`SUBCOMMANDS`: what ``%weshop NAME`` does, what it accepts, how it is listed.

    Parameters
    ----------
    name : str
        The word after ``%weshop``.
    handler : callable
        The magic's method that does it, called as ``handler(magics, args, cell)``.
    summary : str
        One line: the overview's, and (as a sentence) the head of ``%weshop help NAME``.
    arguments : callable, optional
        Declares its arguments on its parser (:mod:`weshop_nb.notebook._parsers`); None when it takes none.
    usage : str
        What follows the name in the overview, e.g. ``[AGENT [VERSION]]``.
    hint : str
        What the overview adds after the summary: its main options.
    details : str
        What ``%weshop help NAME`` adds under the summary.
    cell : bool
        Run as a cell, ``%%weshop NAME``, whose body the handler reads (``run``'s prompts).
    """

    name: str
    handler: Callable[[WeShopMagics, Any, str | None], Any]
    summary: str
    arguments: magic_parsers.Arguments | None = None
    usage: str = ""
    hint: str = ""
    details: str = ""
    cell: bool = False

    @property
    def magic(self) -> str:
        """How it is typed: ``%weshop NAME``, or ``%%weshop NAME`` for a cell."""
        return f"{'%%' if self.cell else '%'}weshop {self.name}"

    @cached_property
    def parser(self) -> MagicArgumentParser:
        """Its argument parser, made when first needed (``%weshop help NAME`` prints its help)."""
        description = self.summary[0].upper() + self.summary[1:] + "."
        if self.details:
            description += "\n" + self.details
        return magic_parsers.make_parser(self.magic, description, self.arguments)


#: Every subcommand, in the order of the overview.
SUBCOMMANDS: dict[str, Subcommand] = {
    row.name: row
    for row in (
        Subcommand(
            "demo",
            WeShopMagics._cmd_demo,
            "start the offline emulator in this kernel and use it",
            magic_parsers.demo_arguments,
        ),
        Subcommand(
            "login",
            WeShopMagics._cmd_login,
            "ask for your API key (never echoed or saved) and use it",
            magic_parsers.login_arguments,
        ),
        Subcommand(
            "info",
            WeShopMagics._cmd_info,
            "show an agent's presets: locations, fashion models, backgrounds",
            magic_parsers.info_arguments,
            usage="[AGENT [VERSION]]",
            hint="[--category C] [--tag T]",
        ),
        Subcommand(
            "upload",
            WeShopMagics._cmd_upload,
            "upload a picture (rules checked first) and return its URL",
            magic_parsers.upload_arguments,
            usage="PATH",
        ),
        Subcommand(
            "run",
            WeShopMagics._cmd_run,
            "launch executions; the cell body holds the prompt(s)",
            magic_parsers.run_arguments,
            usage="--image PICTURES",
            hint="[--agent NAME] [--param K=V]... [--input K=PATH|URL]... [--estimate] [--skip-done]",
            cell=True,
        ),
        Subcommand(
            "agents",
            WeShopMagics._cmd_agents,
            "list the agents of the registry: name, version, what each makes",
        ),
        Subcommand(
            "status",
            WeShopMagics._cmd_status,
            "show one execution, or a task's recent executions (--task ID)",
            magic_parsers.status_arguments,
            usage="EXEC_ID",
        ),
        Subcommand(
            "delete",
            WeShopMagics._cmd_delete,
            "delete a task and its executions on the service",
            magic_parsers.delete_arguments,
            usage="TASK_ID",
        ),
        Subcommand(
            "history",
            WeShopMagics._cmd_history,
            "every execution ever seen (kept on disk), as a DataFrame",
            magic_parsers.history_arguments,
            hint="[--sync]",
        ),
        Subcommand(
            "compare",
            WeShopMagics._cmd_compare,
            "result pictures side by side, by one or two columns of the history",
            magic_parsers.compare_arguments,
            usage="[--by COLUMNS]",
        ),
        Subcommand(
            "rank",
            WeShopMagics._cmd_rank,
            "rank prompts, scenes or models by people's stars (or blind pairs), best first",
            magic_parsers.rank_arguments,
            usage="[--by COLUMNS]",
            hint="[--method pairwise] [--rater NAME]",
        ),
        Subcommand(
            "judge",
            WeShopMagics._cmd_judge,
            "judge pairs of pictures blind: two made alike but for --by; pick left, right or tie",
            magic_parsers.judge_arguments,
            usage="[--by COLUMNS]",
        ),
        Subcommand(
            "retry",
            WeShopMagics._cmd_retry,
            "launch the last run's failed executions again, same parameters (a new run)",
            magic_parsers.retry_arguments,
            usage="[EXEC_ID...]",
            hint="[--wait] [-o VAR]",
        ),
        Subcommand(
            "stop",
            WeShopMagics._cmd_stop,
            "stop watching this session's runs (the service has no cancel call)",
            details="The executions go on at the service; run.start() or %weshop resume watches them again.",
        ),
        Subcommand(
            "resume",
            WeShopMagics._cmd_resume,
            "watch again every execution the history holds as unfinished",
            magic_parsers.run_options,
            hint="[--wait] [-o VAR]",
        ),
        Subcommand(
            "panel",
            WeShopMagics._cmd_panel,
            "open the studio: pick a photo, choose, launch, watch",
            magic_parsers.panel_arguments,
            hint="[--image PATH]",
        ),
        Subcommand(
            "help",
            WeShopMagics._cmd_help,
            "list the subcommands, every option of one, or one agent's parameters",
            magic_parsers.help_arguments,
            usage="[SUBCOMMAND|AGENT]",
        ),
    )
}


def parse(line: str) -> tuple[Subcommand, Any]:
    """The subcommand of a ``%weshop`` line and its parsed arguments; mistakes are ``UsageError``."""
    argv = magic_parsers.without_comment(arg_split(line or "", posix=True))
    if not argv or argv[0] in ("-h", "--help"):
        argv = ["help"]
    subcommand = SUBCOMMANDS.get(argv[0])
    if subcommand is None:
        close = difflib.get_close_matches(argv[0], SUBCOMMANDS, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise UsageError(f"Unknown subcommand {argv[0]!r}.{hint} `%weshop help` lists them.")
    return subcommand, magic_parsers.read(subcommand.parser, magic_parsers.without_comment(argv[1:]), subcommand.name)


def help_for(topic: str) -> str:
    """The options of a subcommand, or the inputs, parameters and rules of an agent."""
    from ._agent_help import agent_help

    found = contract.spec(topic)
    if found is not None:
        return agent_help(found)
    if topic not in SUBCOMMANDS:
        raise UsageError(f"No subcommand or agent {topic!r}; `%weshop help` and `%weshop agents` list them.")
    return SUBCOMMANDS[topic].parser.format_help()


_EXAMPLES = """\
Examples:
  %%weshop run --image garment.jpg --location "Sunny Beach" --model Eve --wait -o run
  A young woman walking on the beach in {season}
  ---
  The same outfit at golden hour

  %%weshop run --agent virtualtryon --image garment.jpg --input fashionModelImage=person.jpg \\
      --param generateVersion=weshopPro --param descriptionType=auto \\
      --param aspectRatio=3:4 --param aspectRatio=9:16

  %%weshop run --image 'shoot/*.jpg' --image more/ --location "Sunny Beach" --skip-done
  A model wearing this garment by the sea

Several pictures (files, URLs, quoted globs, folders; one task each), several prompts
(split by a line holding only ---), several --location, several --model and a --param
key given several values make a sweep: one execution per combination, all launched at
once. {name} takes a value from the notebook; {{ and }}
are literal braces.
"""


def _overview() -> str:
    """``%weshop help``: a line per row of :data:`SUBCOMMANDS`, then examples."""
    lines = ["%weshop: the WeShop AI service from a notebook.", ""]
    for row in SUBCOMMANDS.values():
        line = f"  {f'{row.magic} {row.usage}'.rstrip():<32}  {row.summary}"
        if row.hint:  # beside the summary, or under it when the line would grow too long
            line += f"   {row.hint}" if len(line) + len(row.hint) <= 105 else f"\n{'':<36}{row.hint}"
        lines.append(line)
    return "\n".join([*lines, "", _EXAMPLES])


#: What ``%weshop help`` prints.
OVERVIEW = _overview()


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext weshop_nb``: register ``%weshop`` / ``%%weshop``."""
    magics = WeShopMagics(shell=ipython)
    ipython.register_magics(magics)
    ipython.configurables.append(magics)


def unload_ipython_extension(ipython: Any) -> None:
    magics = ipython.magics_manager.registry.get("WeShopMagics")
    if magics is not None:
        magics.close()
