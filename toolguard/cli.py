"""The ``toolguard`` command line: validate manifests, explain a decision, scaffold, replay.

Commands::

    toolguard validate PATH...                       load manifests (and policy.yaml); list every error
    toolguard explain -m DIR --call call.json        decide one call and show every finding
    toolguard init module:tools [-o DIR]             write manifest skeletons for LangChain tools
    toolguard replay TRACES... -m DIR [--compare OLD] replay recorded traces; diff two policy sets

Exit codes (the same for every command):

    0  the command did its job (``explain``: a decision was made, whatever it was)
    1  an error: a missing file, bad JSON, a manifest/policy/trace error (the message is on
       stderr, never a traceback); ``replay``: a call's verdict missed its expectation, or
       (with ``--fail-on-change``) a verdict changed between the two sets
    2  a usage error (unknown option, missing argument), as for every click program
    3  ``explain --exit-code`` only: the call would be held for approval
    4  ``explain --exit-code`` only: the call would be denied

Hold and deny are 3 and 4 rather than 2 and 3 so that a script can tell "denied" from
"called wrongly". Human output goes through rich (colour only on a terminal, ``NO_COLOR``
respected); ``--json`` output is plain JSON on stdout. Only this module reads the
environment (``COLUMNS`` for the table width, through rich).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__
from .errors import ManifestError, ManifestIssue, ToolguardError
from .findings import Decision, Evidence
from .guard import Guard
from .manifest import ManifestSet, Policy, load_manifests, load_policy
from .replay import (
    PolicyDiff,
    ReplayedCall,
    ReplayReport,
    TraceError,
    _loads_strict,
    compare,
    load_messages,
    load_traces,
    parse_call,
    play,
    replay,
)

__all__ = ["EXIT_DENY", "EXIT_ERROR", "EXIT_HOLD", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_HOLD = 3
EXIT_DENY = 4
VERDICT_EXIT = {"allow": EXIT_OK, "hold": EXIT_HOLD, "deny": EXIT_DENY}

#: Where each finding code is documented (the anchor is the code itself).
DOCS = "docs/findings.md"
_VERDICT_STYLE = {"allow": "bold green", "hold": "bold yellow", "deny": "bold red"}
_POLICY_NAMES = ("policy.yaml", "policy.yml")


# --------------------------------------------------------------------------------------
# Output


def _console(*, stderr: bool = False) -> Console:
    """A rich console; off a terminal (pipes, CI logs) tables get 160 columns, not 80."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160
    return console


class _Abort(Exception):
    """A user-facing failure: every line is printed on stderr and the command exits 1."""

    def __init__(self, *lines: str) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


def _print_lines(console: Console, lines: Iterable[str], style: str = "") -> None:
    for line in lines:
        console.print(Text(line, style=style), soft_wrap=True)


class _Main(click.Group):
    """The root group: turns toolguard errors raised by any command into messages and exit 1.

    It also serves lazily imported command groups (see :data:`_LAZY_COMMANDS`), so a
    command whose optional extra is not installed fails with an install hint, not at import.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ManifestError, TraceError) as exc:
            err = _console(stderr=True)
            n = len(exc.issues)
            _print_lines(err, (str(i) for i in exc.issues))
            err.print(Text(f"{n} error{'s' if n != 1 else ''}", style="bold red"), soft_wrap=True)
            raise click.exceptions.Exit(EXIT_ERROR) from None
        except _Abort as exc:
            _print_lines(_console(stderr=True), (f"error: {exc.lines[0]}", *exc.lines[1:]), style="")
            raise click.exceptions.Exit(EXIT_ERROR) from None
        except ToolguardError as exc:
            _print_lines(_console(stderr=True), [f"error: {exc}"])
            raise click.exceptions.Exit(EXIT_ERROR) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in _LAZY_COMMANDS:
            return command
        target, short_help, extra = _LAZY_COMMANDS[cmd_name]
        module, _, attr = target.partition(":")
        try:
            loaded = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            hint = f" Install it with: pip install 'toolguard[{extra}]'" if extra else ""
            return _unavailable(cmd_name, short_help, f"the '{cmd_name}' command cannot load ({exc}).{hint}")
        if not isinstance(loaded, click.Command):  # pragma: no cover - a wiring bug
            raise TypeError(f"{target} is not a click command")
        return loaded


def _unavailable(name: str, short_help: str, message: str) -> click.Command:
    """A stand-in for a lazy command that cannot load: any invocation prints ``message``, exit 1."""

    def run(args: tuple[str, ...]) -> NoReturn:
        raise _Abort(message)

    return click.Command(
        name,
        callback=run,
        help=short_help,
        short_help=short_help,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        context_settings={"ignore_unknown_options": True},
    )


# --------------------------------------------------------------------------------------
# Loading


def _find_policy(paths: Sequence[str]) -> Path | None:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(p / n for n in _POLICY_NAMES if (p / n).is_file())
        elif p.name in _POLICY_NAMES and p.is_file():
            found.append(p)
    if len(found) > 1:
        raise _Abort(f"found {len(found)} policy files ({', '.join(map(str, found))}); choose one with --policy")
    return found[0] if found else None


def _load_set(paths: Sequence[str], policy: str | None) -> tuple[ManifestSet, Policy, Path | None]:
    """Manifests and policy; every error of both is raised together in one ManifestError."""
    manifest_paths = [p for p in paths if not (Path(p).name in _POLICY_NAMES and Path(p).is_file())]
    policy_path = Path(policy) if policy else _find_policy(paths)
    issues: list[ManifestIssue] = []
    manifests = None
    loaded_policy = None
    try:
        manifests = load_manifests(*manifest_paths)
    except ManifestError as exc:
        issues.extend(exc.issues)
    try:
        loaded_policy = load_policy(policy_path)
    except ManifestError as exc:
        issues.extend(exc.issues)
    if issues or manifests is None or loaded_policy is None:
        raise ManifestError(issues)
    return manifests, loaded_policy, policy_path


def _factory(manifests: ManifestSet, policy: Policy) -> Callable[[], Guard]:
    return lambda: Guard(manifests, policy=policy)


def _read_json(path: str, what: str) -> Any:
    if path == "-":
        text, name = sys.stdin.read(), "<stdin>"
    else:
        file = Path(path)
        if not file.is_file():
            raise _Abort(f"{path}: no such {what} file")
        try:
            text, name = file.read_text(encoding="utf-8"), path
        except (OSError, UnicodeDecodeError) as exc:
            raise _Abort(f"{path}: cannot read the {what} file: {exc}") from None
    try:
        return _loads_strict(text)
    except json.JSONDecodeError as exc:
        raise _Abort(f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except ValueError as exc:
        raise _Abort(f"{name}: invalid JSON: {exc}") from None


# --------------------------------------------------------------------------------------
# Rendering


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evidence_summary(evidence: Sequence[Evidence], limit: int = 3) -> str:
    """One line per piece of evidence: its kind and its first few flat facts.

    Nested objects are left out (a taint match repeats its source's tool and call id at the
    top level); ``--json`` shows everything.
    """
    lines: list[str] = []
    for ev in evidence:
        flat = [(k, v) for k, v in ev.detail.items() if not isinstance(v, Mapping) and v not in ("", None, [])]
        facts = ", ".join(f"{k}={_short(v, 48)}" for k, v in flat[:5])
        line = f"{ev.kind}: {facts}" if facts else ev.kind
        if line not in lines:
            lines.append(line)
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"(+{len(lines) - limit} more)")
    return "\n".join(shown)


def _verdict(verdict: str) -> Text:
    return Text(verdict.upper(), style=_VERDICT_STYLE.get(verdict, ""))


def render_decision(console: Console, decision: Decision, *, call_id: str) -> None:
    """The verdict, the headline reason and every finding (a table, or a list when narrow)."""
    head = Text.assemble(f"{decision.tool or '(no tool)'} (call {call_id or '-'}): ", _verdict(decision.verdict))
    console.print(head, soft_wrap=True)
    console.print(Text(f"reason: {decision.reason}"), soft_wrap=True)
    if not decision.findings:
        return
    if console.width < _TABLE_MIN_WIDTH:
        _render_findings_list(console, decision)
        return
    table = Table(title="findings", title_justify="left", show_lines=True)
    table.add_column("code", no_wrap=True, min_width=max(len(f"{DOCS}#{f.code}") for f in decision.findings))
    table.add_column("action", no_wrap=True)
    table.add_column("pointer", overflow="fold")
    table.add_column("message", overflow="fold", ratio=3)
    table.add_column("evidence", overflow="fold", ratio=2)
    for f in decision.findings:
        code = Text(f.code, style="bold")
        code.append(f"\n{DOCS}#{f.code}", style="dim")
        table.add_row(code, _verdict(f.action), Text(f.pointer or "/"), Text(f.message), Text(evidence_summary(f.evidence)))
    console.print(table)


#: Below this many columns the findings table gets unreadable; findings are listed instead.
_TABLE_MIN_WIDTH = 120


def _render_findings_list(console: Console, decision: Decision) -> None:
    console.print(Text("findings:", style="bold"))
    for i, f in enumerate(decision.findings, 1):
        console.print(
            Text.assemble(f"{i}. ", (f.code, "bold"), "  ", _verdict(f.action), f"  {f.pointer or '/'}  ", (f"{DOCS}#{f.code}", "dim")),
            soft_wrap=True,
        )
        console.print(Text(f"   {f.message}"), soft_wrap=True)
        for j, line in enumerate(evidence_summary(f.evidence).splitlines()):
            console.print(Text(("   evidence: " if j == 0 else "             ") + line), soft_wrap=True)


def _codes(c: ReplayedCall) -> str:
    return ", ".join(dict.fromkeys(c.codes)) or "-"


def render_report(console: Console, report: ReplayReport, traces_meta: dict[str, tuple[str, str]]) -> None:
    for trace_id, calls in report.by_trace().items():
        source, principal = traces_meta.get(trace_id, ("", ""))
        console.print(Text.assemble(("trace ", "bold"), (trace_id, "bold"), f" ({source}, principal {principal})"), soft_wrap=True)
        table = Table()
        for name in ("call", "tool", "verdict", "codes", "expected", "ok"):
            table.add_column(name, overflow="fold")
        for c in calls:
            ok = {True: Text("ok", style="green"), False: Text("MISMATCH", style="bold red"), None: Text("-")}[c.ok]
            table.add_row(Text(c.call), Text(c.tool), _verdict(c.verdict), Text(_codes(c)), Text(c.expected or "-"), ok)
        if not calls:
            table.add_row("-", "no tool calls", "", "", "", "")
        console.print(table)
    if report.notes:
        console.print(Text("notes:", style="bold"))
        _print_lines(console, (f"  {n}" for n in report.notes))
    s = report.summary()
    exp = s["expectations"]
    _print_lines(
        console,
        [
            f"summary: {s['traces']} traces, {s['calls']} calls: {s['allowed']} allowed, {s['held']} held, {s['denied']} denied",
            f"expectations: stop {exp['stop']['met']}/{exp['stop']['expected']} met, allow {exp['allow']['met']}/{exp['allow']['expected']} met",
        ],
    )
    if report.mismatches:
        console.print(Text(f"{len(report.mismatches)} mismatches:", style="bold red"), soft_wrap=True)
        _print_lines(
            console,
            (f"  {c.trace} call {c.call} ({c.tool}): expected {c.expected}, got {c.verdict} ({_codes(c)})" for c in report.mismatches),
        )


def render_diff(console: Console, diff: PolicyDiff) -> None:
    if not diff.changes:
        console.print(Text("policy diff: no verdict changed"), soft_wrap=True)
        return
    table = Table(title=f"policy diff: {len(diff.changes)} calls changed verdict (old -> new)", title_justify="left")
    for name in ("trace", "call", "tool", "old", "old codes", "new", "new codes"):
        table.add_column(name, overflow="fold")
    for ch in diff.changes:
        table.add_row(
            Text(ch.new.trace), Text(ch.new.call), Text(ch.new.tool),
            _verdict(ch.old.verdict), Text(_codes(ch.old)), _verdict(ch.new.verdict), Text(_codes(ch.new)),
        )
    console.print(table)
    _print_lines(console, ["transitions: " + "; ".join(f"{t}: {n}" for t, n in diff.transitions().items())])


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# --------------------------------------------------------------------------------------
# Commands


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="toolguard")
def main() -> None:
    """toolguard: a tool-call firewall for LLM agents.

    \b
    Exit codes: 0 done; 1 error (message on stderr) or replay mismatch;
    2 usage error; 3 held and 4 denied (explain --exit-code only).
    """


def _manifests_option(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--policy", "policy", metavar="FILE", help="The policy file (default: policy.yaml inside a manifest directory).")(f)
    return click.option(
        "--manifests", "-m", "manifest_paths", multiple=True, required=True, metavar="PATH",
        help="Manifest file or directory (repeatable).",
    )(f)


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--policy", metavar="FILE", help="The policy file (default: policy.yaml inside a given directory).")
def validate(paths: tuple[str, ...], policy: str | None) -> None:
    """Load manifests and the policy file; print every error with file:line:col and pointer."""
    manifests, _, policy_path = _load_set(paths, policy)
    n = len(manifests)
    line = f"{n} manifest{'s' if n != 1 else ''} OK"
    if policy_path is not None:
        line += f" (policy: {policy_path})"
    _console().print(Text(line, style="green"), soft_wrap=True)


@main.command()
@_manifests_option
@click.option("--call", "call_file", required=True, metavar="FILE", help='The call as JSON ({"tool", "args", "id"} or OpenAI/LangChain shape); - for stdin.')
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@click.option("--principal", default="anonymous", show_default=True, help="The principal the call is made for.")
@click.option("--context", "context_file", metavar="FILE", help="Prior messages (JSON list, trace object or JSONL) played into the session first.")
@click.option("--exit-code", "exit_code", is_flag=True, help="Exit 3 if the call would be held, 4 if denied.")
def explain(
    manifest_paths: tuple[str, ...], policy: str | None, call_file: str, as_json: bool, principal: str,
    context_file: str | None, exit_code: bool,
) -> None:
    """Decide one call and show the verdict, the headline reason and every finding."""
    manifests, loaded_policy, _ = _load_set(manifest_paths, policy)
    call = parse_call(_read_json(call_file, "call"), file=call_file)
    messages = load_messages(context_file) if context_file else []
    if not principal:
        raise _Abort("--principal must not be empty")
    guard = Guard(manifests, policy=loaded_policy)
    session = guard.session(principal, "explain")
    notes: list[str] = []
    play(guard, session, messages, notes=notes)
    decision = guard.decide(call, session)
    if notes:
        _print_lines(_console(stderr=True), (f"note: {n}" for n in notes))
    if as_json:
        _echo_json(decision.to_dict())
    else:
        render_decision(_console(), decision, call_id=call.id)
    if exit_code:
        raise click.exceptions.Exit(VERDICT_EXIT[decision.verdict])


def _file_name(tool_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", tool_name) + ".yaml"


@main.command()
@click.argument("target", metavar="MODULE:ATTRIBUTE")
@click.option("-o", "--output", metavar="PATH", help="A file, or a directory (one file per tool); default stdout.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def init(target: str, output: str | None, force: bool) -> None:
    """Write manifest skeletons for a LangChain tool (or a list of tools) to complete by hand."""
    from . import scaffold  # lazy: it imports LangChain

    # The current directory goes first on sys.path, as for `python -m`: `myapp.tools:TOOLS`
    # names the developer's own package.
    tools = scaffold.load_object(target, app_dir=Path.cwd())
    if output is None:
        click.echo(scaffold.manifest_skeletons(tools), nl=False)
        return
    out = Path(output)
    if out.is_dir() or output.endswith(("/", "\\")):
        writes = [(out / _file_name(t.name), scaffold.manifest_skeleton(t)) for t in tools]
    else:
        writes = [(out, scaffold.manifest_skeletons(tools))]
    existing = [str(p) for p, _ in writes if p.exists()]
    if existing and not force:
        raise _Abort(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; pass --force to overwrite")
    err = _console(stderr=True)
    for path, text in writes:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _Abort(f"{path}: cannot write: {exc.strerror or exc}") from None
        err.print(Text(f"wrote {path}"), soft_wrap=True)
    err.print(Text("complete destinations, payload and output trust, then run: toolguard validate " + str(out)), soft_wrap=True)


@main.command("replay")
@click.argument("trace_paths", nargs=-1, required=True, metavar="TRACES...")
@_manifests_option
@click.option("--json", "as_json", is_flag=True, help="Print calls, summary (and changes) as JSON.")
@click.option("--compare", "compare_paths", multiple=True, metavar="OLD", help="Also replay under this older manifest set and list verdict changes (repeatable).")
@click.option("--compare-policy", metavar="FILE", help="The policy file of the older set (default: policy.yaml inside it).")
@click.option("--fail-on-change", is_flag=True, help="With --compare: exit 1 if any verdict changed.")
def replay_command(
    trace_paths: tuple[str, ...], manifest_paths: tuple[str, ...], policy: str | None, as_json: bool,
    compare_paths: tuple[str, ...], compare_policy: str | None, fail_on_change: bool,
) -> None:
    """Replay recorded traces (JSONL) and report what would be allowed, held or denied.

    Exits 1 when a call's verdict misses the trace's expectation.
    """
    if compare_policy and not compare_paths:
        raise click.UsageError("--compare-policy needs --compare")
    if fail_on_change and not compare_paths:
        raise click.UsageError("--fail-on-change needs --compare")
    issues: list[ManifestIssue] = []
    new_set = old_set = None
    try:
        new_set = _load_set(manifest_paths, policy)
    except ManifestError as exc:
        issues.extend(exc.issues)
    if compare_paths:
        try:
            old_set = _load_set(compare_paths, compare_policy)
        except ManifestError as exc:
            issues.extend(exc.issues)
    if issues or new_set is None:
        raise ManifestError(issues)
    traces = load_traces(*trace_paths)
    meta = {t.id: (t.source, t.principal) for t in traces}
    new_factory = _factory(new_set[0], new_set[1])
    diff: PolicyDiff | None = None
    if old_set is not None:
        diff = compare(traces, _factory(old_set[0], old_set[1]), new_factory)
        report = diff.new
    else:
        report = replay(traces, new_factory)
    if as_json:
        _echo_json(diff.to_dict() if diff is not None else report.to_dict())
    else:
        console = _console()
        render_report(console, report, meta)
        if diff is not None:
            render_diff(console, diff)
    failed = bool(report.mismatches) or (fail_on_change and diff is not None and bool(diff.changes))
    if failed:
        raise click.exceptions.Exit(EXIT_ERROR)


# --------------------------------------------------------------------------------------
# Command groups of other layers.
#
# Eager groups (their imports need nothing beyond the core dependencies) are added in
# _register with main.add_command. Groups that need an optional extra go in _LAZY_COMMANDS
# as name -> ("module:attribute", short help, extra): they are imported only when invoked,
# so `toolguard --help` and every other command work without the extra, and a missing extra
# gives an install hint instead of an ImportError.

_LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
}


def _register(group: click.Group) -> None:
    """Add the command groups of other layers to ``group``."""
    from .approvals.cli import approvals, approvers, serve
    from .audit import audit_cli
    from .cutoff import cutoff_cli

    for command in (approvals, approvers, serve, audit_cli, cutoff_cli):
        group.add_command(command)


_register(main)


def _entry() -> None:  # pragma: no cover - ``python -m toolguard.cli``
    main(prog_name="toolguard")


if __name__ == "__main__":  # pragma: no cover
    _entry()
