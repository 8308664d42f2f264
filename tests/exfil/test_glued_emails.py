"""An email address of labelled text glued to other characters in a payload (tests/heldout9).

The ledger keys an email address by the whole run of token characters around its ``@``, so an
address written inside a SQL LIKE pattern (``'%a.b@c.example%'``), after a key (``note=``,
``email:``), inside a path (``/a.b@c.example/``) or URL-encoded once or twice
(``%25a.b%40c.example%25``) was another key, and a 30-odd-character address was found only
when a winnowed fingerprint happened to fall inside it. Each such address is now also matched
on its own, under its argument's pointer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from toolguard import Call, Guard
from toolguard.manifest import manifest_from_dict

ROWS = '[{"customer_id": "C-100733", "name": "Lucia Ferraro", "email": "lucia.ferraro@veronamail.example", "ltv": 29874.00}]'
EMAIL = "lucia.ferraro@veronamail.example"


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _lint(sql: str, *, user: str = "Lint my query.") -> Any:
    lint = manifest_from_dict({"tool": "lint", "side_effect": "external_write", "arguments": _obj(sql={"type": "string"}), "payload": ["/sql"]})
    query = manifest_from_dict({"tool": "query", "side_effect": "read", "arguments": _obj(), "output": {"trust": "trusted", "labels": ["private"]}})
    guard = Guard([lint, query])
    s = guard.session("u", "s")
    s.add_user_text(user)
    guard.run(s, Call("query", {}, "q"), lambda _a: ROWS)
    return guard.run(s, Call("lint", {"sql": sql}, "x"), lambda _a: "ok")


@pytest.mark.parametrize("sql", [
    f"select * from t where note like '%{EMAIL}%'",
    f"select * from t where note like '{EMAIL}%'",
    f"select 1 -- note={EMAIL}",
    f"select 1 /* email:{EMAIL} */",
    f"select '/{EMAIL}/' as k",
    f"select '~{EMAIL}~' as k",
    "select '" + quote(f"%{EMAIL}%", safe="") + "' as k",
    "select '" + quote(quote(f"%{EMAIL}%", safe=""), safe="") + "' as k",
])
def test_an_address_glued_to_other_characters_is_private_data(sql: str) -> None:
    out = _lint(sql)
    assert out.status == "denied" and "payload.private_data" in out.decision.codes, out.decision.findings


@pytest.mark.parametrize(("sql", "user"), [
    ("select * from t where note like '%@veronamail.example%'", "Lint my query."),  # no address of the record
    ("select * from t where note like '%other.person@veronamail.example%'", "Lint my query."),
    (f"select * from t where note like '%{EMAIL}%'", f"Lint: select * from t where note like '%{EMAIL}%'"),  # the user's words
])
def test_otherwise_as_before(sql: str, user: str) -> None:
    out = _lint(sql, user=user)
    assert out.status == "executed" and not out.decision.findings, out.decision.findings
