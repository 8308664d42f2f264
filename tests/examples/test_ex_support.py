"""The support agent: the client extracting the knowledge base is cut off, the honest one is not."""

from __future__ import annotations

import pytest

from toolguard.cutoff import open_kill_list


def test_the_honest_client_gets_every_answer(example):
    mod = example("support_agent")
    result = mod.main(["--quiet"])
    honest = result.clients[mod.HONEST]
    assert honest.cut_off is None
    assert [r.status for r in honest.rows] == ["executed"] * len(mod.HONEST_QUESTIONS)
    assert all(not a.startswith("Sorry") for a in honest.answers)
    used = {u["metric"]: u["used"] for u in result.usage[mod.HONEST]}
    limit = {u["metric"]: u["max"] for u in result.usage[mod.HONEST]}
    assert 0 < used["output_items"] < limit["output_items"]


def test_the_extractor_is_withheld_then_cut_off_by_the_declared_rule(example):
    mod = example("support_agent")
    result = mod.main(["--quiet"])
    ext = result.clients[mod.EXTRACTOR]
    statuses = [r.status for r in ext.rows]
    assert len(statuses) == len(mod.EXTRACTOR_QUESTIONS)
    # Answers until the budget is reached, one output withheld, then the rule fires.
    first_stop = statuses.index("denied")
    assert first_stop >= 1 and all(s == "executed" for s in statuses[:first_stop])
    assert all(s == "denied" for s in statuses[first_stop:])
    assert ext.rows[first_stop].codes == ("budget.exceeded",)
    assert "principal.cut_off" in ext.rows[first_stop + 1].codes and "budget.exceeded" in ext.rows[first_stop + 1].codes
    assert all(r.codes == ("principal.cut_off",) for r in ext.rows[first_stop + 2 :])
    assert ext.cut_off is not None and "knowledge-base" in ext.cut_off
    assert [e.principal for e in result.kill_list] == [mod.EXTRACTOR]
    assert result.kill_list[0].by == "rule:kb-extraction"
    # The extractor got only what its budget allows of the knowledge base.
    used = {u["metric"]: (u["used"], u["max"]) for u in result.usage[mod.EXTRACTOR]}
    assert used["output_items"][0] <= used["output_items"][1] < len(mod.KB)
    assert ext.answers[-1].startswith("Sorry")


def test_with_a_state_dir_the_kill_list_is_durable(example, tmp_path):
    mod = example("support_agent")
    state = tmp_path / "state"
    first = mod.main(["--state-dir", str(state), "--quiet"])
    assert first.store == f"sqlite:///{state / 'state.db'}"
    assert [e.principal for e in open_kill_list(first.store).list()] == [mod.EXTRACTOR]

    second = mod.main(["--state-dir", str(state), "--quiet"])  # a new guard on the same file
    ext = second.clients[mod.EXTRACTOR]
    assert all(r.codes == ("principal.cut_off",) for r in ext.rows)  # refused from the first question
    honest = second.clients[mod.HONEST]
    assert honest.cut_off is None and all(r.status == "executed" for r in honest.rows)


@pytest.mark.parametrize("query, expected", [
    ("How do I reset my password?", "Reset your password"),
    ("bank feed stopped syncing", "Bank feed stopped syncing"),
    ("export invoices to CSV", "Export invoices to CSV"),
], ids=["password", "bank-feed", "csv"])
def test_the_fake_knowledge_base_answers_the_honest_questions(example, query, expected):
    mod = example("support_agent")
    assert mod.search(query, 3)[0]["title"] == expected
