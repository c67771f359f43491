"""docs/findings.md shows exactly the pinned `sciml check` findings of every ODE zoo spec."""
import importlib.util

from helpers import ROOT


def test_findings_page_is_up_to_date():
    spec = importlib.util.spec_from_file_location("findings", ROOT / "scripts" / "findings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "findings.md").read_text() == module.page(), \
        "docs/findings.md is stale: run python scripts/findings.py"
    assert len(list((ROOT / "tests" / "golden_findings").glob("*.txt"))) >= 10
