"""Manifest and policy loading: valid files load; every bad file is reported precisely."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from toolguard import ManifestError, load_manifests, load_policy
from toolguard.manifest import parse_duration, parse_size

HERE = Path(__file__).parent / "manifests"

GOOD = """\
tool: t
side_effect: read
arguments:
  type: object
  properties:
    url: {type: string}
destinations:
  - {arg: /url, kind: url}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def issues_of(*paths: Path) -> list:
    with pytest.raises(ManifestError) as info:
        load_manifests(*paths)
    return list(info.value.issues)


def test_loads_directory_with_single_and_list_files():
    ms = load_manifests(HERE)
    assert sorted(m.tool for m in ms) == ["delete_file", "fetch_url", "post_message", "read_notes", "send_email", "transfer"]
    email = ms.get("send_email")
    assert email is not None
    assert email.approval.ttl == 3600
    assert email.limits.egress_bytes is not None and email.limits.egress_bytes.max == 1_000_000
    assert email.limits.calls is not None and email.limits.calls.per == 3600
    assert email.output.trust == "trusted"
    assert email.destinations[0].allow_list.patterns == ("*@acme.example",)
    # secure default: output untrusted unless declared
    assert ms.get("delete_file").output.trust == "untrusted"  # type: ignore[union-attr]


def test_multi_document_file(tmp_path):
    p = write(tmp_path, "m.yaml", GOOD + "---\n" + GOOD.replace("tool: t", "tool: u"))
    assert sorted(m.tool for m in load_manifests(p)) == ["t", "u"]


@pytest.mark.parametrize(
    ("text", "pointer", "line", "needle"),
    [
        pytest.param("tool: t\nside_effect: read\nbogus: 1\n", "/bogus", 3, "unknown key 'bogus'", id="unknown-key"),
        pytest.param("tool: t\n", "/side_effect", 1, "missing required key 'side_effect'", id="missing-key"),
        pytest.param("tool: t\nside_effect: explode\n", "/side_effect", 2, "explode", id="bad-side-effect"),
        pytest.param("tool: t\nside_effect: read\narguments: {type: object, properties: {a: {type: strng}}}\n", "/arguments/properties/a/type", 3, "invalid JSON Schema", id="bad-json-schema"),
        pytest.param("tool: t\nside_effect: read\narguments: {type: array}\n", "/arguments/type", 3, "must describe an object", id="schema-not-object"),
        pytest.param(GOOD.replace("/url, kind", "/uri, kind"), "/destinations/0/arg", 8, "not in the argument schema", id="pointer-typo"),
        pytest.param(GOOD.replace("/url, kind", "url, kind"), "/destinations/0/arg", 8, "must start with '/'", id="pointer-syntax"),
        pytest.param(GOOD.replace("kind: url}", "kind: url, allow: ['http://[::1']}"), "/destinations/0/allow", 8, "", id="bad-allow-pattern"),
        pytest.param(GOOD.replace("kind: url}", "kind: carrier-pigeon}"), "/destinations/0/kind", 8, "carrier-pigeon", id="bad-kind"),
        pytest.param(GOOD + "approval: {ttl: soon}\n", "/approval/ttl", 9, "invalid duration", id="bad-duration"),
        pytest.param(GOOD + "limits: {egress_bytes: {max: lots, per: 1d}}\n", "/limits/egress_bytes/max", 9, "invalid size", id="bad-size"),
        pytest.param(GOOD + "actions: {destination.nope: allow}\n", "/actions", 9, "unknown finding code", id="bad-finding-code"),
        pytest.param(GOOD + "actions: {destination.not_allowed: maybe}\n", "/actions/destination.not_allowed", 9, "maybe", id="bad-action"),
        pytest.param(GOOD + "output: {trust: sometimes}\n", "/output/trust", 9, "sometimes", id="bad-trust"),
        pytest.param(GOOD + "output: {redact: ['(']}\n", "/output/redact", 9, "not a valid regular expression", id="bad-redact-regex"),
        pytest.param(GOOD.replace("tool: t", "tool: 'bad name!'"), "/tool", 1, "may hold only", id="bad-tool-name"),
        pytest.param("tool: t\nside_effect: read\nside_effect: none\n", "/side_effect", 3, "duplicate key", id="duplicate-key"),
        pytest.param("- 1\n- 2\n", "/0", 1, "must be a mapping", id="list-of-scalars"),
        pytest.param(GOOD.replace("kind: url}", "kind: path}"), "/destinations/0/roots", 8, "needs 'roots'", id="path-without-roots"),
    ],
)
def test_bad_manifest_is_reported_with_position(tmp_path, text, pointer, line, needle):
    p = write(tmp_path, "bad.yaml", text)
    issues = issues_of(p)
    hit = [i for i in issues if i.pointer == pointer]
    assert hit, f"no issue at {pointer}: {issues}"
    assert hit[0].file == str(p)
    assert hit[0].line == line
    assert needle in hit[0].message
    assert str(p) in str(ManifestError(issues))


def test_invalid_yaml_names_line_and_column(tmp_path):
    p = write(tmp_path, "broken.yaml", "tool: t\nside_effect: [read\n")
    (issue,) = issues_of(p)
    assert issue.line is not None and issue.line >= 2
    assert issue.column is not None
    assert "invalid YAML" in issue.message


def test_directory_with_several_bad_files_reports_all(tmp_path):
    write(tmp_path, "a.yaml", "tool: a\nside_effect: nope\n")
    write(tmp_path, "b.yaml", "tool: b\nside_effect: read\nextra: 1\n")
    write(tmp_path, "c.yaml", "tool: [unclosed\n")
    write(tmp_path, "ok.yaml", GOOD)
    issues = issues_of(tmp_path)
    files = {Path(i.file).name for i in issues}
    assert files == {"a.yaml", "b.yaml", "c.yaml"}


def test_duplicate_tool_across_files(tmp_path):
    write(tmp_path, "one.yaml", GOOD)
    write(tmp_path, "two.yaml", GOOD)
    issues = issues_of(tmp_path)
    assert len(issues) == 1
    assert "already declared" in issues[0].message and "one.yaml" in issues[0].message


def test_not_utf8_and_missing_path(tmp_path):
    p = tmp_path / "latin1.yaml"
    p.write_bytes(b"tool: caf\xe9\n")
    assert "not UTF-8" in issues_of(p)[0].message
    assert "no such file" in issues_of(tmp_path / "nope.yaml")[0].message


def test_empty_directory_is_an_error(tmp_path):
    assert "holds no .yaml" in issues_of(tmp_path)[0].message


def test_policy_file(tmp_path):
    p = write(tmp_path, "policy.yaml", "unknown_tools: hold\nactions: {destination.not_allowed: deny}\nmax_argument_bytes: 64KiB\n")
    pol = load_policy(p)
    assert pol.unknown_tools == "hold"
    assert pol.max_argument_bytes == 65536
    assert pol.action_for("destination.not_allowed", None) == "deny"
    bad = write(tmp_path, "bad-policy.yaml", "unknown_tools: allow\n")
    with pytest.raises(ManifestError) as info:
        load_policy(bad)
    assert info.value.issues[0].pointer == "/unknown_tools"
    assert info.value.issues[0].line == 1


def test_policy_cannot_allow_unknown_tools_by_default():
    assert load_policy(None).unknown_tools == "deny"


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), (90, 90), ("30s", 30), ("15m", 900), ("1h", 3600), ("1d", 86400), ("1.5h", 5400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-1", "0", "1y", True, None, "nan"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "n"), [(10, 10), ("1MB", 10**6), ("1MiB", 2**20), ("512 KiB", 512 * 1024), ("2kb", 2000)])
def test_parse_size(text, n):
    assert parse_size(text) == n


@pytest.mark.parametrize("text", ["lots", "-5", "1 parsec", True, 1.5])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="size"):
        parse_size(text)
