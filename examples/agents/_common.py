"""Shared pieces of the example agents: the scripted model, the call recorder, the table.

Nothing here decides anything: the guard, its manifests and the LangChain agent loop in
each example are the real ones. This module only

* builds the chat model: a scripted, offline one by default (it emits the tool calls a
  compromised model would make), or a real one when ``TOOLGUARD_EXAMPLE_MODEL`` names it
  (``openai:gpt-4o-mini``, ``anthropic:claude-3-5-haiku-latest``...; passed to
  ``langchain.chat_models.init_chat_model``);
* records what the guard did with every call (:class:`RecordingGuard`), so the example can
  print it as a table and return it to its tests;
* resolves where an example keeps its state (``--state-dir``, else ``TOOLGUARD_HOME``, else
  ``./.toolguard``: the same place the ``toolguard`` command looks by default).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from rich.console import Console
from rich.table import Table
from rich.text import Text

from toolguard import Call, Guard, Outcome, Session

__all__ = [
    "MANIFESTS",
    "MODEL_ENV",
    "CallRow",
    "RecordingGuard",
    "ScriptedChatModel",
    "Step",
    "ai",
    "base_parser",
    "call_table",
    "choose_model",
    "cli_command",
    "close_stores",
    "is_default_state",
    "last_tool_message",
    "make_console",
    "python_command",
    "say",
    "short",
    "state_dir",
    "tool_call",
]

#: The environment variable that swaps the scripted model for a real one.
MODEL_ENV = "TOOLGUARD_EXAMPLE_MODEL"
HERE = Path(__file__).resolve().parent
MANIFESTS = HERE / "manifests"


# --------------------------------------------------------------------------------------
# The model


#: One step of a script: a message, or a function of the conversation so far that returns one.
Step = Union[AIMessage, str, Callable[[list[BaseMessage]], AIMessage]]  # noqa: UP007 - a runtime alias on 3.10


class ScriptedChatModel(GenericFakeChatModel):
    """LangChain's own fake chat model, made usable by ``create_agent``.

    It answers each model call with the next step of its script: a fixed message, or a
    function of the conversation so far (so a scripted answer can depend on what a tool
    returned or refused). ``bind_tools`` returns the model itself (the base class raises,
    and ``create_agent`` calls it); build it with ``disable_streaming=True``, because the
    fake's streaming path drops tool calls.
    """

    messages: Iterator[Any]

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> ScriptedChatModel:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        try:
            step = next(self.messages)
        except StopIteration:
            raise RuntimeError("the scripted model has no more turns (the script is shorter than the run)") from None
        message = step(list(messages)) if callable(step) else step
        if isinstance(message, str):
            message = ai(text=message)
        return ChatResult(generations=[ChatGeneration(message=message)])


def tool_call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    """One tool call of a scripted turn (the id is mandatory: ToolNode needs it)."""
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def ai(*calls: dict[str, Any], text: str = "") -> AIMessage:
    """One scripted model turn: tool calls, or a final answer when there are none.

    Every message gets a fresh id: LangGraph replaces a message whose id it has seen.
    """
    return AIMessage(text, tool_calls=list(calls), id=f"scripted-{uuid.uuid4().hex}")


def choose_model(script: Callable[[], list[Step]], *, plays: str = "a compromised assistant") -> tuple[BaseChatModel, str]:
    """The chat model of a run and its description.

    ``TOOLGUARD_EXAMPLE_MODEL`` (e.g. ``openai:gpt-4o-mini``) selects a real model through
    ``init_chat_model`` (its provider package and API key must be installed and set);
    otherwise the scripted model plays ``script()``, a fresh list for every run.
    """
    name = os.environ.get(MODEL_ENV, "").strip()
    if name:
        from langchain.chat_models import init_chat_model

        return init_chat_model(name), f"{name} (from {MODEL_ENV})"
    model = ScriptedChatModel(messages=iter(script()), disable_streaming=True)
    return model, f"scripted offline model playing {plays} (set {MODEL_ENV}=provider:model for a real one)"


def last_tool_message(messages: Sequence[BaseMessage]) -> ToolMessage | None:
    """The latest tool result in the conversation (what a scripted answer reacts to)."""
    for m in reversed(messages):
        if isinstance(m, ToolMessage):
            return m
    return None


# --------------------------------------------------------------------------------------
# Recording what the guard did


@dataclass(frozen=True)
class CallRow:
    """What happened to one tool call: the row of the printed table, and what tests check."""

    principal: str
    call_id: str
    tool: str
    args: Any
    status: str  # executed | denied | held
    verdict: str  # allow | deny | hold
    codes: tuple[str, ...]
    reason: str
    hold_id: str | None = None
    #: Every finding in full (code, action, pointer, message, evidence).
    findings: tuple[dict[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return {"executed": "allowed"}.get(self.status, self.status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal, "call_id": self.call_id, "tool": self.tool, "args": self.args,
            "status": self.status, "verdict": self.verdict, "codes": list(self.codes), "reason": self.reason,
            "hold_id": self.hold_id, "findings": list(self.findings),
        }  # fmt: skip


def _clip(message: str, limit: int = 150) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _row(session: Session, call: Call, outcome: Outcome) -> CallRow:
    decision = outcome.decision
    stopping = decision.stopping()
    if stopping:
        # The headline finding of each distinct code first (most relevant first), then the rest.
        firsts: dict[str, str] = {}
        for f in stopping:
            firsts.setdefault(f.code, f.message)
        rest = [f.message for f in stopping if f.message not in firsts.values()]
        shown = [_clip(m) for m in [*firsts.values(), *rest][:2]]
        reason = "\n".join(shown)
        if len(stopping) > len(shown):
            reason += f"\n(+{len(stopping) - len(shown)} more)"
    elif decision.findings:
        reason = "allowed; noted: " + _clip(decision.findings[0].message)
    else:
        reason = "no findings"
    return CallRow(
        principal=session.principal, call_id=call.id, tool=str(call.tool), args=call.args,
        status=outcome.status, verdict=decision.verdict, codes=decision.codes, reason=reason,
        hold_id=outcome.hold_id, findings=tuple(f.to_dict() for f in decision.findings),
    )  # fmt: skip


class RecordingGuard(Guard):
    """A :class:`~toolguard.Guard` that also keeps the outcome of every call it mediates.

    It changes nothing about deciding or running: it records what ``run``/``arun`` return.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[CallRow] = []
        self._rows_lock = threading.Lock()

    def _keep(self, session: Session, call: Call, outcome: Outcome) -> Outcome:
        with self._rows_lock:
            self.rows.append(_row(session, call, outcome))
        return outcome

    def run(self, session: Session, call: Call, execute: Callable[[Any], Any]) -> Outcome:
        return self._keep(session, call, super().run(session, call, execute))

    async def arun(self, session: Session, call: Call, execute: Callable[[Any], Awaitable[Any]]) -> Outcome:
        return self._keep(session, call, await super().arun(session, call, execute))


# --------------------------------------------------------------------------------------
# Printing


def make_console(quiet: bool = False) -> Console:
    """A console for the example's output (``quiet`` prints nothing: tests use it)."""
    if quiet:
        return Console(quiet=True)
    probe = Console()
    return Console(width=None if probe.is_terminal else 150, highlight=False)


def short(value: Any, limit: int = 80) -> str:
    """Arguments as compact JSON, cut in the middle to about ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = repr(value)
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = (limit * 2) // 3
    return text[:head] + " … " + text[-(limit - head - 3) :]


_STYLE = {"executed": "bold green", "denied": "bold red", "held": "bold yellow"}


def call_table(rows: Sequence[CallRow], *, title: str, show_principal: bool = False) -> Table:
    """The table of every tool call: tool, arguments, verdict, finding codes, reason."""
    table = Table(title=title, title_justify="left", show_lines=True, expand=False)
    table.add_column("#", justify="right", style="dim")
    if show_principal:
        table.add_column("client")
    table.add_column("tool", style="bold")
    table.add_column("args", overflow="fold", max_width=42)
    table.add_column("verdict")
    table.add_column("findings", overflow="fold", max_width=30)
    table.add_column("reason", overflow="fold", max_width=60)
    for i, r in enumerate(rows, 1):
        reason = r.reason + (f"\nhold id: {r.hold_id}" if r.hold_id else "")
        cells: list[str | Text] = [str(i)]
        if show_principal:
            cells.append(r.principal)
        codes = "\n".join(dict.fromkeys(r.codes)) or "-"
        cells += [r.tool, short(r.args), Text(r.label, style=_STYLE.get(r.status, "")), codes, reason]
        table.add_row(*cells)
    return table


def say(console: Console, text: str, style: str = "") -> None:
    """Print plain text (never interpreted as rich markup: it may hold model-written values)."""
    console.print(Text(text, style=style), soft_wrap=True)


# --------------------------------------------------------------------------------------
# Command line and state


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--state-dir", metavar="DIR", default=None,
        help="where SQLite state goes (default: $TOOLGUARD_HOME, else ./.toolguard)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="print nothing (the result is still returned)")
    return parser


def state_dir(option: str | None) -> Path:
    """The example's state directory: ``--state-dir``, else ``$TOOLGUARD_HOME``, else ``./.toolguard``.

    The default is where ``toolguard approvals``/``toolguard serve`` look without ``--store``.
    """
    if option:
        path = Path(option)
    else:
        home = os.environ.get("TOOLGUARD_HOME")
        path = Path(home) if home else Path.cwd() / ".toolguard"
    path.mkdir(parents=True, exist_ok=True)
    return path


def close_stores(*stores: Any) -> None:
    """Close the database connections of SQL-backed stores (memory stores have none)."""
    for store in stores:
        db = getattr(store, "db", None)
        if db is not None:
            db.close()


def is_default_state(path: Path) -> bool:
    """True when ``path`` is where the ``toolguard`` command looks without ``--store``."""
    home = os.environ.get("TOOLGUARD_HOME")
    default = Path(home) if home else Path.cwd() / ".toolguard"
    return path.resolve() == default.resolve()


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def cli_command() -> str:
    """How to call the ``toolguard`` command from here (the venv's, when it is not on PATH)."""
    import shutil

    beside = Path(sys.executable).parent / "toolguard"
    on_path = shutil.which("toolguard")
    if on_path and Path(on_path).resolve() == beside.resolve():
        return "toolguard"
    return _relative(beside) if beside.exists() else "toolguard"


def python_command() -> str:
    """How to call this Python from here (``.venv/bin/python`` after ``make demo``)."""
    import shutil

    exe = Path(sys.executable)
    on_path = shutil.which("python")
    if on_path and Path(on_path).resolve() == exe.resolve():
        return "python"
    return _relative(exe)
