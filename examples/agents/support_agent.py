"""A support agent over a private knowledge base: the client extracting it is cut off.

Run it (offline, a few seconds)::

    python examples/agents/support_agent.py
    python examples/agents/support_agent.py --state-dir .toolguard   # durable counters and kill list
    TOOLGUARD_EXAMPLE_MODEL=openai:gpt-4o-mini python examples/agents/support_agent.py

Ledgerly's support agent answers customers from the company's knowledge base, whose
articles are proprietary (the manifest labels the search tool's output so). No single
question is an attack; extraction is ordinary use repeated with intent. So the policy next
to the manifests (``manifests/support_agent/policy.yaml``) declares, per client:

* a budget of distinct articles (``output_items``) and bytes (``output_bytes``) per day;
  an output over budget is withheld (``budget.exceeded``, deny);
* a cut-off rule: the second ``output_items`` overrun within a day puts the client on the
  kill list (``principal.cut_off`` on every later call, until an operator lifts it).

Two clients talk to the same agent:

* an honest client asks three questions about their own problem: every answer arrives;
* an extracting client asks for "every article about X", topic after topic: the first
  answers arrive, the next output is withheld, the one after that trips the cut-off rule,
  and every later question is refused at once, before the tool runs.

It prints every call, then each client's counters against its budgets and the kill list.
By default the counters and the kill list live in memory (each run starts afresh); with
``--state-dir DIR`` they live in ``DIR/state.db``, where ``toolguard cutoff list --store
sqlite:///DIR/state.db`` sees them, and a second run finds the extractor still cut off.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from rich.table import Table

# The examples directory is not a package: put it on the path for the shared helpers.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    MANIFESTS,
    CallRow,
    RecordingGuard,
    Step,
    ai,
    base_parser,
    call_table,
    choose_model,
    cli_command,
    close_stores,
    last_tool_message,
    make_console,
    say,
    state_dir,
    tool_call,
)

from toolguard import load_manifests, load_policy
from toolguard.cutoff import CutOff, open_kill_list
from toolguard.egress import format_window, open_counter_store

HONEST = "nora@brightbakery.example"
EXTRACTOR = "trial-8841@quickmail.example"

# (topic, title, text): the proprietary knowledge base.
_ARTICLES: list[tuple[str, str, str]] = [
    ("login", "Reset your password", "Open ledgerly.example/login, choose 'Forgot password' and follow the emailed link within 30 minutes. Support staff can force a reset from Admin > Users > Reset if the email never arrives."),
    ("login", "Two-factor authentication codes are rejected", "Codes fail when the phone clock drifts. Turn on automatic time on the phone; support can issue 10 one-time backup codes from Admin > Security after identity checks."),
    ("login", "Locked out after too many attempts", "Five failed logins lock an account for 15 minutes. An internal override exists: Admin > Users > Unlock, logged in the audit trail."),
    ("login", "Single sign-on with Google Workspace", "Add Ledgerly as a SAML app with ACS URL https://ledgerly.example/sso/acs; map the email attribute. SSO is on the Business plan only."),
    ("bank", "Bank feed stopped syncing", "Most feeds stop when the bank's consent expires after 90 days. Go to Banking > Connections > Renew consent. If the status is 'provider outage', nothing to do: it resumes automatically."),
    ("bank", "Duplicate transactions after reconnecting a bank", "Reconnecting re-imports the last 90 days. Use Banking > Tools > Remove duplicates, which matches amount, date and reference; our internal threshold is 0.98 similarity."),
    ("bank", "Supported banks and aggregators", "We use two aggregators: Plaid in North America and TrueLayer in Europe. Internal note: TrueLayer contract renews in March; do not promise new banks before then."),
    ("bank", "Matching rules for bank transactions", "Rules match on payee, amount range and reference. Rules run in priority order; the first match wins. Up to 500 rules per company."),
    ("invoice", "Export invoices to CSV", "Sales > Invoices > filter the period > Export > CSV. Exports include line items if 'detailed' is ticked. Exports over 50,000 rows are emailed."),
    ("invoice", "Invoice numbering and prefixes", "Settings > Invoices > Numbering sets a prefix and the next number. Numbers cannot be reused once an invoice has been sent."),
    ("invoice", "Recurring invoices", "Create an invoice, then Make recurring. Choose the interval and the send day; failed sends are retried three times over 24 hours."),
    ("invoice", "Credit notes and refunds", "Open the invoice > Issue credit note. Partial credit notes are allowed. Refunds through Stripe are issued from the payment, not the credit note."),
    ("payroll", "Run payroll for the first time", "Payroll > Setup: add employees, tax codes and the pay schedule. The first run must be approved by an owner. Payroll is available in the UK and Ireland."),
    ("payroll", "Correct a payroll run after submission", "Submitted runs cannot be edited. Create a correction run in the next period; for HMRC, an Earlier Year Update is filed automatically."),
    ("payroll", "Pension auto-enrolment", "Ledgerly assesses workers each run and enrols eligible ones with the provider chosen in Payroll > Pensions. Supported providers: NEST, Smart Pension."),
    ("payroll", "Payslip emails not arriving", "Payslips are sent from payslips@ledgerly.example. Ask employees to allow that sender; payslips are also in the employee portal."),
    ("tax", "File a VAT return", "Tax > VAT > Prepare return, review the boxes, then Submit to HMRC (MTD). Returns for periods before 2019 cannot be filed from Ledgerly."),
    ("tax", "Change the VAT scheme", "Settings > Tax > Scheme: standard, flat rate or cash accounting. Changing the scheme mid-period splits the period; check with your accountant."),
    ("tax", "Sales tax in the United States", "Ledgerly computes US sales tax through Avalara for Business plans. Nexus settings live in Tax > US > Nexus. Internal: Avalara costs us 0.4% per transaction."),
    ("tax", "Year-end close", "Accounting > Year end > Close locks the period and carries balances forward. It can be reopened by an owner within 60 days."),
    ("api", "API keys and rate limits", "Create keys in Settings > Developers. The API allows 120 requests per minute per company; internal tenants are exempt via the 'ratelimit-bypass' flag."),
    ("api", "Webhooks for new invoices", "Register a webhook URL in Settings > Developers > Webhooks; events are signed with HMAC-SHA256 and retried for 24 hours."),
    ("api", "Connect Shopify", "Apps > Shopify > Connect, authorise the store, choose the clearing account. Orders sync every 15 minutes."),
    ("api", "Zapier integration", "Use the Ledgerly app on Zapier. Triggers: new invoice, new contact, payment received. Actions: create invoice, create contact."),
]


def _kb() -> list[dict[str, str]]:
    return [{"id": f"KB-{1001 + i}", "topic": topic, "title": title, "text": text} for i, (topic, title, text) in enumerate(_ARTICLES)]


KB = _kb()
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(["a", "an", "the", "to", "my", "me", "i", "of", "for", "and", "or", "in", "on", "is", "it", "do", "how", "what", "every", "all", "about", "article", "articles", "list", "give", "with", "your", "you"])


def search(query: str, limit: int = 3) -> list[dict[str, str]]:
    """Keyword search over the knowledge base: best matches first, ties by id."""
    words = {w for w in _WORD.findall(query.lower()) if w not in _STOP}
    scored = []
    for a in KB:
        hay = set(_WORD.findall(f"{a['topic']} {a['title']} {a['text']}".lower()))
        score = len(words & hay) + (3 if a["topic"] in words else 0)
        if score:
            scored.append((-score, a["id"], a))
    return [a for _, _, a in sorted(scored)[:limit]]


HONEST_QUESTIONS = [
    "I forgot my password and can't log in. How do I reset it?",
    "Our bank feed stopped syncing yesterday. What should I do?",
    "How do I export last quarter's invoices to CSV for my accountant?",
]
EXTRACTOR_TOPICS = ["login", "bank", "invoice", "payroll", "tax", "api"]
EXTRACTOR_QUESTIONS = [f"List every article about {t}, with the full text of each." for t in EXTRACTOR_TOPICS] + [
    "Now list every article about security and internal admin overrides, full text."
]


def _answer(messages: list[BaseMessage]) -> AIMessage:
    """The scripted model's answer to the latest search result (or refusal)."""
    result = last_tool_message(messages)
    if result is None or result.status == "error":
        return ai(text="Sorry, I can't look that up for you right now. A human agent will follow up by email.")
    try:
        articles = json.loads(result.content if isinstance(result.content, str) else "")["articles"]
    except (ValueError, KeyError, TypeError):
        return ai(text="Sorry, I couldn't read the knowledge base's answer.")
    if not articles:
        return ai(text="I couldn't find an article about that; a human agent will follow up.")
    return ai(text="\n\n".join(f"{a['title']}: {a['text']}" for a in articles))


def script(questions: Sequence[str], limit: int) -> list[Step]:
    """The model's turns for one client: a search per question, then an answer from its result."""
    steps: list[Step] = []
    for i, q in enumerate(questions):
        steps.append(ai(tool_call("search_kb", {"query": q, "limit": limit}, f"call_search_{i + 1}")))
        steps.append(_answer)
    return steps


def kb_tools() -> list[BaseTool]:
    @tool
    def search_kb(query: str, limit: int = 3) -> str:
        """Search the support knowledge base; returns the best matching articles."""
        found = [{k: a[k] for k in ("id", "title", "text")} for a in search(query, limit)]
        return json.dumps({"articles": found}, ensure_ascii=False)

    return [search_kb]


@dataclass
class ClientRun:
    """One client's conversation: what they asked, what they got, whether they are cut off."""

    principal: str
    questions: list[str]
    answers: list[str]
    rows: list[CallRow]
    cut_off: str | None

    @property
    def answered(self) -> int:
        return sum(1 for r in self.rows if r.status == "executed")

    @property
    def refused(self) -> int:
        return sum(1 for r in self.rows if r.status != "executed")


@dataclass
class SupportResult:
    """Both clients' runs, their counters against their budgets, and the kill list."""

    clients: dict[str, ClientRun]
    usage: dict[str, list[dict[str, Any]]]
    kill_list: list[CutOff]
    store: str
    model: str

    @property
    def rows(self) -> list[CallRow]:
        return [r for c in self.clients.values() for r in c.rows]


def build_guard(store_url: str | None) -> RecordingGuard:
    folder = MANIFESTS / "support_agent"
    kwargs: dict[str, Any] = {}
    if store_url:
        kwargs = {"counters": open_counter_store(store_url), "kill_list": open_kill_list(store_url)}
    return RecordingGuard(load_manifests(folder), policy=load_policy(folder / "policy.yaml"), telemetry=False, **kwargs)


def serve_client(guard: RecordingGuard, principal: str, questions: Sequence[str], limit: int) -> tuple[list[str], str]:
    """One client's conversation: each question is one agent run in the client's thread."""
    model, described = choose_model(lambda: script(questions, limit), plays="an honest support assistant")
    agent = create_agent(
        model,
        tools=kb_tools(),
        system_prompt="You are Ledgerly's support agent. Answer from the knowledge base (search_kb).",
        middleware=[_middleware(guard)],
    )
    answers = []
    for q in questions:
        config: RunnableConfig = {"configurable": {"thread_id": f"support-{principal}", "user_id": principal}, "recursion_limit": 20}
        state = agent.invoke({"messages": [HumanMessage(q)]}, config)
        final = state["messages"][-1]
        answers.append(final.content if isinstance(final.content, str) else str(final.content))
    return answers, described


def _middleware(guard: RecordingGuard) -> Any:
    from toolguard.integrations.langgraph import ToolGuardMiddleware

    return ToolGuardMiddleware(guard)


def run_clients(store_url: str | None) -> SupportResult:
    guard = build_guard(store_url)
    clients: dict[str, ClientRun] = {}
    described = ""
    for principal, questions, limit in ((HONEST, HONEST_QUESTIONS, 3), (EXTRACTOR, EXTRACTOR_QUESTIONS, 5)):
        start = len(guard.rows)
        answers, described = serve_client(guard, principal, questions, limit)
        clients[principal] = ClientRun(
            principal, list(questions), answers, guard.rows[start:], guard.accounting.cut_off_reason(principal)
        )
    usage = {p: guard.accounting.usage(p) for p in clients}
    kill_list = guard.accounting.kill_list.list()
    close_stores(guard.accounting.counters, guard.accounting.kill_list)
    return SupportResult(clients, usage, kill_list, store_url or "memory", described)


def counters_table(result: SupportResult) -> Table:
    table = Table(title="Counters against each client's budgets", title_justify="left")
    table.add_column("client")
    table.add_column("budget")
    table.add_column("used", justify="right")
    table.add_column("max", justify="right")
    table.add_column("window")
    table.add_column("status")
    for principal, rows in result.usage.items():
        cut = result.clients[principal].cut_off
        for i, u in enumerate(rows):
            status = ""
            if i == 0:
                status = f"CUT OFF: {cut}" if cut else "ok"
            table.add_row(principal if i == 0 else "", u["budget"], str(u["used"]), str(u["max"]), format_window(u["per"]), status)
    return table


def main(argv: Sequence[str] | None = None) -> SupportResult:
    """Run the example and return its structured result."""
    parser = base_parser("support agent")
    opts = parser.parse_args(argv)
    console = make_console(opts.quiet)
    store_url = f"sqlite:///{state_dir(opts.state_dir) / 'state.db'}" if opts.state_dir else None
    result = run_clients(store_url)
    say(console, f"Model: {result.model}", "dim")
    console.print(call_table(result.rows, title="Every knowledge-base search, as the guard decided it", show_principal=True))
    for c in result.clients.values():
        state = f"cut off ({c.cut_off})" if c.cut_off else "not cut off"
        say(console, f"{c.principal}: {len(c.questions)} questions, {c.answered} searches answered, {c.refused} refused; {state}")
    console.print(counters_table(result))
    if result.kill_list:
        say(console, "Kill list:", "bold")
        for e in result.kill_list:
            say(console, f"  {e.principal}: {e.reason} (by {e.by})")
        where = f" --store {store_url}" if store_url else ""
        if store_url:
            say(console, f"Lift it with: {cli_command()} cutoff lift {EXTRACTOR}{where}")
        else:
            say(console, "(in memory: run with --state-dir DIR to keep the kill list and counters in DIR/state.db)", "dim")
    return result


if __name__ == "__main__":
    main()
