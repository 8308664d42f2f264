"""Manifest skeletons generated from LangChain tools, for the developer to complete.

:func:`manifest_skeleton` turns a tool's *model-facing* argument schema (the one the model
is shown; injected arguments left out) into manifest YAML that loads as is. What a schema
cannot tell (the side effect, where data goes, whether the output can be trusted) is left
to the developer, marked ``# TODO(toolguard):``, with the strict placeholder in place
meanwhile: ``side_effect: external_write``, no allowed destination, ``output.trust:
untrusted``. :func:`load_object` resolves ``"package.module:attribute"`` to tools, for
``toolguard init``::

    from toolguard.scaffold import load_object, manifest_skeleton

    for tool in load_object("myapp.tools:TOOLS"):
        Path(f"manifests/{tool.name}.yaml").write_text(manifest_skeleton(tool))
"""

from __future__ import annotations

import copy
import importlib
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from .errors import ConfigError

__all__ = ["load_object", "manifest_skeleton", "manifest_skeletons", "tool_parameters"]

# The manifest's rule for tool names (toolguard.manifest.Manifest.tool).
_TOOL_NAME = re.compile(r"[A-Za-z0-9_.:\-]+")
_LEGACY_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"__arg1": {"type": "string"}},
    "required": ["__arg1"],
}

# Argument names and JSON Schema formats that usually say where data goes: only used to
# write commented suggestions, never to fill in the manifest.
_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|_)(to|cc|bcc|recipients?|emails?|email_address(es)?|reply_to|sender)$", re.I), "email"),
    (re.compile(r"(^|_)(url|uri|urls|link|href|endpoint|webhook)$", re.I), "url"),
    (re.compile(r"(^|_)(domain|host|hostname)$", re.I), "host"),
    (re.compile(r"(^|_)(iban|account_number)$", re.I), "iban"),
    (re.compile(r"(^|_)(phone|phone_number|msisdn)$", re.I), "phone"),
    (re.compile(r"(^|_)(channel|channel_id)$", re.I), "channel"),
    (re.compile(r"(^|_)(path|file|filename|file_path|dir|directory|folder)$", re.I), "path"),
)
_FORMATS = {"email": "email", "idn-email": "email", "uri": "url", "iri": "url", "url": "url", "hostname": "host", "idn-hostname": "host"}


def tool_parameters(tool: BaseTool) -> dict[str, Any]:
    """The JSON Schema of the arguments the model sends to ``tool`` (a fresh copy).

    Taken from ``convert_to_openai_tool(tool)``, which is what a model is bound with:
    injected arguments are left out, ``$ref``s are resolved, and a legacy single-input
    ``Tool`` gets ``{"__arg1": string}``.
    """
    converted = convert_to_openai_tool(tool)
    function = converted.get("function")
    if not isinstance(function, Mapping):  # e.g. a custom (free-text) tool
        return copy.deepcopy(_LEGACY_PARAMETERS)
    params = function.get("parameters")
    if not isinstance(params, Mapping):
        return {"type": "object", "properties": {}}
    stripped: dict[str, Any] = _strip_titles(copy.deepcopy(dict(params)))
    return stripped


def _strip_titles(schema: Any) -> Any:
    """Remove pydantic's cosmetic ``title`` keys (a property may itself be named "title")."""
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(value, dict):
                out[key] = {name: _strip_titles(sub) for name, sub in value.items()}
            elif key in ("enum", "const", "default", "examples"):
                out[key] = value  # data, not schema
            else:
                out[key] = _strip_titles(value)
        return out
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    return schema


def _hints(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(pointer, kind) suggestions for arguments that look like destinations."""
    out: list[tuple[str, str]] = []
    props = params.get("properties")
    if not isinstance(props, Mapping):
        return out
    for name, sub in props.items():
        if not isinstance(name, str) or not isinstance(sub, Mapping):
            continue
        pointer = "/" + name.replace("~", "~0").replace("/", "~1")
        item = sub
        if sub.get("type") == "array" and isinstance(sub.get("items"), Mapping):
            pointer += "/*"
            item = sub["items"]
        kind = _FORMATS.get(str(item.get("format", "")))
        if kind is None:
            kind = next((k for pattern, k in _HINTS if pattern.search(name)), None)
        if kind is not None:
            out.append((pointer, kind))
    return out


def _yaml(value: Any, indent: int) -> str:
    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


def manifest_skeleton(tool: BaseTool) -> str:
    """Manifest YAML for ``tool``: name, description and arguments filled, the rest marked TODO.

    The result loads with :func:`toolguard.load_manifests` as is, and is strict until
    completed: ``side_effect: external_write`` (assume the tool sends data out), no
    allowed destination, untrusted output. ``additionalProperties: false`` is added to the
    top-level schema unless it says otherwise.

    Raises ConfigError when the tool's name cannot name a manifest (the guard could never
    match it).
    """
    if not isinstance(tool, BaseTool):
        raise ConfigError(f"manifest_skeleton expects a LangChain BaseTool, got {type(tool).__name__}")
    name = tool.name
    if not _TOOL_NAME.fullmatch(name or "") or len(name) > 200:
        raise ConfigError(
            f"the tool name {name!r} cannot name a manifest (letters, digits, '_', '-', '.' and ':' only, "
            "at most 200 characters); rename the tool, since the guard matches calls by name"
        )
    params = tool_parameters(tool)
    if params.get("type") == "object" and "additionalProperties" not in params:
        params["additionalProperties"] = False
    description = " ".join((tool.description or "").split())

    lines = [
        f"# toolguard manifest for the tool {name!r}, generated from its model-facing schema.",
        "# Complete every TODO(toolguard) before relying on it. Until then the placeholders are the",
        "# strict choices: the tool is treated as sending data out, and its output as untrusted.",
        _yaml({"tool": name}, 0).rstrip("\n"),
        _yaml({"description": description}, 0).rstrip("\n"),
        "# TODO(toolguard): set the side effect: none | read | local_write | external_write | destructive | financial.",
        "# external_write is the secure placeholder: it assumes the tool sends data out, so its",
        "# payload is checked for private data and, once untrusted content entered the session,",
        "# every call is held unless the user's own words ground it. Choose a weaker class only if true.",
        "side_effect: external_write",
        "# The arguments the model may send (JSON Schema 2020-12), copied from the tool's schema.",
        "# additionalProperties: false rejects any argument the schema does not name.",
        "arguments:",
        _yaml(params, 2).rstrip("\n"),
        "# TODO(toolguard): list the arguments that name where data goes, each with an allow-list.",
        "# Kinds: email, url, domain, host, iban, phone, channel, path (with roots), markdown, html.",
    ]
    hints = _hints(params)
    if hints:
        lines.append("# Arguments that look like destinations (check them):")
        lines.append("# destinations:")
        for pointer, kind in hints:
            example = {"email": '["*@example.com"]', "url": '["https://api.example.com/*"]', "path": "[]"}.get(kind, "[]")
            extra = ", roots: [/srv/data]" if kind == "path" else ""
            lines.append(f"#   - {{arg: {pointer}, kind: {kind}, allow: {example}{extra}}}")
    else:
        lines.append("# For example:  destinations: [{arg: /to/*, kind: email, allow: [\"*@example.com\"]}]")
    lines += [
        "destinations: []",
        "output:",
        "  # TODO(toolguard): keep untrusted unless the output can never carry text written by someone",
        "  # other than the user or the developer (web pages, emails, files and API data all can).",
        "  # Add labels: [private] when the output holds data that must not leave.",
        "  trust: untrusted",
        "",
    ]
    return "\n".join(lines)


def manifest_skeletons(tools: Iterable[BaseTool]) -> str:
    """Skeletons of several tools as one YAML stream (documents separated by ``---``)."""
    return "---\n".join(manifest_skeleton(t) for t in tools)


def _as_tools(obj: Any, spec: str, *, called: bool = False) -> list[BaseTool]:
    if isinstance(obj, BaseTool):
        return [obj]
    if isinstance(obj, (list, tuple)):
        tools = list(obj)
        for i, item in enumerate(tools):
            if not isinstance(item, BaseTool):
                raise ConfigError(f"{spec}: item {i} is a {type(item).__name__}, not a LangChain tool")
        if not tools:
            raise ConfigError(f"{spec}: the list of tools is empty")
        return tools
    if callable(obj) and not called:
        try:
            produced = obj()
        except Exception as exc:
            raise ConfigError(f"{spec}: calling it to get the tools failed: {type(exc).__name__}: {exc}") from exc
        return _as_tools(produced, spec, called=True)
    what = "returned" if called else "is"
    raise ConfigError(f"{spec} {what} a {type(obj).__name__}; expected a LangChain tool, a list of tools, or a function returning them")


def load_object(spec: str, *, app_dir: str | Path | None = None) -> list[BaseTool]:
    """Resolve ``"package.module:attribute"`` (the attribute may be dotted) to LangChain tools.

    The attribute may be a tool, a list or tuple of tools, or a callable taking no
    arguments that returns either. ``app_dir``, when given, is put first on ``sys.path``
    (``toolguard init`` passes the current directory). Raises ConfigError naming what
    went wrong.
    """
    if not isinstance(spec, str):
        raise ConfigError(f"expected 'module:attribute', got {type(spec).__name__}")
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name.strip() or not attr.strip():
        raise ConfigError(f"expected 'module:attribute' (for example myapp.tools:TOOLS), got {spec!r}")
    if app_dir is not None:
        path = str(Path(app_dir).resolve())
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigError(f"cannot import {module_name!r}: no module named {exc.name!r}") from exc
        raise ConfigError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise ConfigError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    walked = module_name
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"{walked!r} has no attribute {part!r}") from None
        walked += ("." if walked != module_name else ":") + part
    return _as_tools(obj, spec)
