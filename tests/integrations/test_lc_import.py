"""toolguard and GuardedTool work with langchain-core alone; the middleware asks for the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys

    class Block:
        # Behave as if `langchain` and `langgraph` were not installed.
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("langchain", "langgraph"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())

    import toolguard
    from toolguard.integrations.langchain import GuardedTool
    from toolguard.scaffold import manifest_skeleton
    from langchain_core.tools import tool

    @tool
    def ping(host: str) -> str:
        \"\"\"Ping.\"\"\"
        return "pong"

    guard = toolguard.Guard([])
    out = guard.wrap(ping).invoke({"name": "ping", "args": {"host": "h"}, "id": "c1", "type": "tool_call"})
    assert out.status == "error" and "tool.unknown" in out.content, out
    assert "tool: ping" in manifest_skeleton(ping)
    try:
        from toolguard.integrations.langchain import ToolGuardMiddleware
    except ImportError as exc:
        print("IMPORT-ERROR:", exc)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("langchain", "langgraph"))
    print("LOADED:", loaded)
    """
)


def test_core_works_without_langchain_and_langgraph():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "IMPORT-ERROR: toolguard's agent middleware needs LangChain agents and LangGraph; " in proc.stdout
    assert "pip install 'toolguard[langgraph]'" in proc.stdout
    assert "LOADED: []" in proc.stdout
