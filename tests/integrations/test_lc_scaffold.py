"""Manifest skeletons from LangChain tools, and resolving "module:attribute" to tools."""

from __future__ import annotations

import textwrap
import uuid
from typing import Annotated, Literal

import pytest
import yaml
from langchain.tools import InjectedState, ToolRuntime
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, Tool, tool
from pydantic import BaseModel, Field
from test_lc_support import Tools, tc

from toolguard import ConfigError, Guard, load_manifests
from toolguard.scaffold import load_object, manifest_skeleton, manifest_skeletons, tool_parameters


class Address(BaseModel):
    street: str
    zip: str = Field(pattern=r"^\d{5}$")


@tool
def ship(to: Address, items: list[str], mode: Literal["air", "sea"] = "air", title: str | None = None,
         user: Annotated[str, InjectedState("user")] = "", runtime: ToolRuntime = None) -> str:  # type: ignore[assignment]
    """Ship items to an address.

    Multi-line description: "quotes", colons: and # hashes survive.
    """
    return "shipped"


@tool
def post_webhook(url: str, recipients: list[str], payload: str, file_path: str) -> str:
    """Post to a webhook."""
    return "ok"


json_schema_tool = StructuredTool(
    name="json_args",
    description="A tool whose schema is a JSON Schema dict.",
    args_schema={"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "required": ["n"]},
    func=lambda n: str(n),
)
legacy = Tool(name="shout", func=lambda s: s.upper(), description="Shout a word.")


def _load(tmp_path, text: str, name: str = "m.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_manifests(path)


@pytest.mark.parametrize(
    "t",
    [ship, post_webhook, json_schema_tool, legacy, Tools().read_file, Tools().search, Tools().aping],
    ids=["nested-model", "destinations", "json-schema", "legacy", "injected", "artifact", "async-only"],
)
def test_skeleton_loads_and_is_strict(tmp_path, t: BaseTool):
    text = manifest_skeleton(t)
    manifests = _load(tmp_path, text)
    m = manifests.get(t.name)
    assert m is not None
    assert m.side_effect == "external_write"
    assert m.output.trust == "untrusted" and m.destinations == ()
    assert m.arguments["additionalProperties"] is False
    assert {k: v for k, v in m.arguments.items() if k != "additionalProperties"} == tool_parameters(t)
    assert text.count("TODO(toolguard)") >= 3
    assert "side_effect: external_write" in text and "trust: untrusted" in text


def test_skeleton_uses_the_model_facing_schema():
    params = tool_parameters(ship)
    assert set(params["properties"]) == {"to", "items", "mode", "title"}  # user/runtime are injected
    assert params["properties"]["title"]["anyOf"] == [{"type": "string"}, {"type": "null"}]  # a field named title survives
    assert params["properties"]["to"]["properties"]["zip"]["pattern"] == r"^\d{5}$"
    assert "$ref" not in yaml.safe_dump(params)
    assert tool_parameters(legacy) == {"type": "object", "properties": {"__arg1": {"type": "string"}}, "required": ["__arg1"]}


def test_skeleton_keeps_the_description(tmp_path):
    m = _load(tmp_path, manifest_skeleton(ship)).get("ship")
    assert m is not None and m.description.startswith("Ship items to an address.") and '"quotes", colons: and # hashes' in m.description


def test_skeleton_suggests_destinations_in_comments():
    text = manifest_skeleton(post_webhook)
    assert "#   - {arg: /url, kind: url" in text
    assert "#   - {arg: /recipients/*, kind: email" in text
    assert "#   - {arg: /file_path, kind: path" in text
    assert "/payload" not in text
    # The suggestions are comments: the loaded manifest declares no destination.
    assert yaml.safe_load(text)["destinations"] == []


def test_skeleton_guards_the_tool_as_is(tmp_path):
    ran = []

    @tool
    def add(a: int, b: int) -> str:
        """Add two numbers."""
        ran.append((a, b))
        return str(a + b)

    guard = Guard(_load(tmp_path, manifest_skeleton(add)))
    g = guard.wrap(add)
    assert g.invoke(tc("add", {"a": 1, "b": 2}, "c1")).content == "3"
    denied = g.invoke(tc("add", {"a": 1, "b": 2, "c": 3}, "c2"))
    assert isinstance(denied, ToolMessage) and denied.status == "error" and "schema.invalid" in denied.content
    assert ran == [(1, 2)]


def test_several_skeletons_in_one_stream(tmp_path):
    manifests = _load(tmp_path, manifest_skeletons([ship, legacy, json_schema_tool]))
    assert sorted(m.tool for m in manifests) == ["json_args", "ship", "shout"]


def test_a_name_no_manifest_can_carry_is_refused():
    bad = Tool(name="send email", func=lambda s: s, description="x")
    with pytest.raises(ConfigError, match="cannot name a manifest"):
        manifest_skeleton(bad)
    with pytest.raises(ConfigError, match="expects a LangChain BaseTool"):
        manifest_skeleton(lambda: None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# load_object


@pytest.fixture
def tools_module(tmp_path):
    name = f"lc_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            '''
            from langchain_core.tools import tool

            @tool
            def alpha(x: str) -> str:
                """Alpha."""
                return x

            @tool
            def beta(y: int) -> str:
                """Beta."""
                return str(y)

            TOOLS = [alpha, beta]
            ONE = alpha

            def make_tools():
                return (alpha, beta)

            def broken():
                raise RuntimeError("no config")

            class Holder:
                tools = [beta]

            NOT_TOOLS = ["alpha"]
            EMPTY = []
            '''
        ),
        encoding="utf-8",
    )
    (tmp_path / f"{name}_bad.py").write_text("import not_a_module_anywhere_xyz\n", encoding="utf-8")
    return tmp_path, name


@pytest.mark.parametrize(
    ("attr", "names"),
    [("TOOLS", ["alpha", "beta"]), ("ONE", ["alpha"]), ("make_tools", ["alpha", "beta"]), ("Holder.tools", ["beta"])],
    ids=["list", "tool", "factory", "dotted"],
)
def test_load_object(tools_module, attr, names):
    app_dir, module = tools_module
    assert [t.name for t in load_object(f"{module}:{attr}", app_dir=app_dir)] == names


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{m}", "expected 'module:attribute'"),
        ("{m}:", "expected 'module:attribute'"),
        (":TOOLS", "expected 'module:attribute'"),
        ("no_such_module_qq:TOOLS", "no module named 'no_such_module_qq'"),
        ("{m}_bad:TOOLS", "importing .* failed: ModuleNotFoundError"),
        ("{m}:MISSING", "has no attribute 'MISSING'"),
        ("{m}:Holder.nope", "has no attribute 'nope'"),
        ("{m}:NOT_TOOLS", "item 0 is a str, not a LangChain tool"),
        ("{m}:EMPTY", "the list of tools is empty"),
        ("{m}:broken", "calling it to get the tools failed: RuntimeError: no config"),
        ("{m}:textwrap", "is a module"),
    ],
    ids=["no-colon", "no-attr", "no-module", "missing-module", "import-error", "missing-attr", "missing-dotted",
         "not-tools", "empty", "factory-raises", "wrong-type"],
)
def test_load_object_errors(tools_module, spec, message):
    app_dir, module = tools_module
    if spec == "{m}:textwrap":
        (app_dir / f"{module}_mod.py").write_text("import textwrap\n", encoding="utf-8")
        spec = "{m}_mod:textwrap"
    with pytest.raises(ConfigError, match=message):
        load_object(spec.format(m=module), app_dir=app_dir)
