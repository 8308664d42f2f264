"""The LangGraph interrupt mode over a durable store, as docs/approvals.md shows it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytest.importorskip("langgraph")

from appr_support import EMAIL_MANIFEST
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from toolguard import Guard
from toolguard.approvals import open_stores, wait_for_decision
from toolguard.integrations.langgraph import ToolGuardMiddleware
from toolguard.manifest import ManifestSet, manifest_from_dict

EVE = {"to": ["eve@evil.test"], "subject": "numbers", "body": "the quarterly numbers"}


class Scripted(GenericFakeChatModel):
    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Scripted:
        return self


def _model() -> Scripted:
    turns = [
        AIMessage("", tool_calls=[{"name": "send_email", "args": EVE, "id": "s1", "type": "tool_call"}], id=f"ai-{uuid.uuid4().hex}"),
        AIMessage("done", id=f"ai-{uuid.uuid4().hex}"),
    ]
    return Scripted(messages=iter(turns))


@pytest.fixture
def setup(tmp_path):
    holds, approvers = open_stores(f"sqlite:///{tmp_path}/state.db")
    bob, _ = approvers.add("bob", ["mail-approvers"])
    guard = Guard(ManifestSet.of([manifest_from_dict(EMAIL_MANIFEST)]), holds=holds)
    sent: list[dict[str, Any]] = []

    @tool
    def send_email(to: list[str], subject: str, body: str) -> str:
        """Send an email."""
        sent.append({"to": to, "subject": subject, "body": body})
        return f"sent to {to[0]}"

    agent = create_agent(_model(), tools=[send_email], middleware=[ToolGuardMiddleware(guard, on_hold="interrupt")], checkpointer=InMemorySaver())
    yield holds, bob, agent, sent
    holds.db.close()  # type: ignore[attr-defined]


def _resume_value(holds, hold_id):
    rec = wait_for_decision(holds, hold_id, timeout=0)
    assert rec.status != "pending"
    return {"approved": rec.status == "approved", "reason": rec.reason or "", "hold_id": rec.id}


@pytest.mark.parametrize("verdict", ["approve", "deny"])
def test_interrupt_resumed_with_the_store_decision(setup, verdict):
    holds, bob, agent, sent = setup
    config = {"configurable": {"thread_id": f"t-{verdict}", "user_id": "alice"}}
    state = agent.invoke({"messages": [HumanMessage("answer the last email")]}, config)
    hold = state["__interrupt__"][0].value
    rec = holds.get(hold["hold_id"])
    assert rec.status == "pending" and rec.principal == "alice" and rec.args == EVE and sent == []
    holds.decide(rec.id, bob, verdict, "known partner" if verdict == "approve" else "phishing")
    resumed = agent.invoke(Command(resume=_resume_value(holds, rec.id)), config)
    [msg] = [m for m in resumed["messages"] if isinstance(m, ToolMessage)]
    if verdict == "approve":
        assert sent == [EVE] and msg.status == "success"
    else:
        assert sent == [] and msg.status == "error" and "phishing" in msg.content


def test_interrupt_mode_claims_the_call_in_the_store(setup):
    holds, bob, agent, sent = setup
    config = {"configurable": {"thread_id": "t-claim", "user_id": "alice"}}
    state = agent.invoke({"messages": [HumanMessage("answer the last email")]}, config)
    hid = state["__interrupt__"][0].value["hold_id"]
    holds.decide(hid, bob, "approve", "ok")
    agent.invoke(Command(resume=_resume_value(holds, hid)), config)
    assert sent == [EVE]
    assert holds.get(hid).status == "done"
