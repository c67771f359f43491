"""--report-every N (the runtime's command line): the reports at the start and every N steps in
the JSON result as report_history, each with the training seconds so far, so a run says when it
first reached a target; the reports' own time is not counted."""
import io
import json

import pytest

from sciml.modules import compile_and_import
from sciml.runtime.command import RuntimeCommandLine
from test_pinn import RITZ, small_ritz


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_report_history_has_the_reports_at_the_start_and_every_n_steps(backend, capsys):
    module = compile_and_import(RITZ, backend, source=small_ritz(), name=f"ritz_history_{backend}")
    capsys.readouterr()
    module.main(["--steps", "6", "--report-every", "3", "--json", "--dtype", "float64", "--threads", "1"])
    out, err = capsys.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    history = result["report_history"]
    said = [line for line in err.splitlines() if "rel_l2" in line]   # as they come, on standard error
    assert len(said) == 3 and said[1].startswith("step      3  ") and f"rel_l2 {history[1]['reports']['rel_l2']:.6g}" in said[1]
    assert [row["step"] for row in history] == [0, 3, 6]
    assert history[-1]["reports"] == result["reports"]   # the last row is the final report
    start = module.reports(module.init_params(0), module.make_data(), module._runtime.DTYPES["float64"])
    assert history[0]["reports"]["rel_l2"] == pytest.approx(start["rel_l2"], rel=1e-12)
    assert history[0]["reports"] != history[1]["reports"]   # training moved between them
    seconds = [row["seconds"] for row in history]
    assert seconds == sorted(seconds) and 0 <= seconds[0] and seconds[-1] <= result["seconds"]


def test_without_report_every_there_is_no_history(capsys):
    module = compile_and_import(RITZ, "jax", source=small_ritz(), name="ritz_history_none_jax")
    capsys.readouterr()
    module.main(["--steps", "2", "--json", "--dtype", "float64"])
    assert "report_history" not in json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_the_reports_own_time_is_not_counted():
    """A clock that the evaluation of the reports advances by 10 s, training by 1 s a step."""
    now = [100.0]

    def evaluate(params):
        now[0] += 10.0
        return {"value": params}

    said = io.StringIO()
    history = RuntimeCommandLine.ReportHistory(2, evaluate, clock=lambda: now[0], stream=said)
    for step in range(5):
        if step % history.every == 0:
            history(step, step * 0.5)
        now[0] += 1.0
    assert history.rows == [{"step": 0, "seconds": 0.0, "reports": {"value": 0.0}},
                            {"step": 2, "seconds": 2.0, "reports": {"value": 1.0}},
                            {"step": 4, "seconds": 4.0, "reports": {"value": 2.0}}]
    assert said.getvalue().splitlines() == ["step      0  0.0 s  value 0", "step      2  2.0 s  value 1",
                                            "step      4  4.0 s  value 2"]
