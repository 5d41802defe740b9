"""Smoke test of the benchmarks package: its parsers and figures, the examples scale, and one second of wrk."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import procs, wrk  # noqa: E402
from benchmarks.selftest_speed import parse  # noqa: E402
from benchmarks.stats import figure, ratio  # noqa: E402
from benchmarks.suite_speed import count_cases  # noqa: E402
from conformance.catalog.profiles import SCALE_ENV, get_profile  # noqa: E402
from conformance.errors import UsageError  # noqa: E402


def test_a_figure_is_the_median_with_min_and_max() -> None:
    runs = figure("req/s", [30.0, 10.0, 20.0])
    assert (runs.median, runs.min, runs.max) == (20.0, 10.0, 30.0)
    assert ratio(runs, figure("req/s", [5.0])).median == 4.0
    assert ratio(runs, figure("req/s", [])).samples == ()


def test_generated_cases_count_each_fuzz_probe_and_lifecycle_once() -> None:
    def result(target: str, operation: str, notes: list[str], ms: float = 0.0) -> dict[str, object]:
        return {"target": target, "operation": operation, "evidence": {"notes": notes}, "duration_ms": ms}

    results = {
        "results": [
            result("a", "create", ["50 generated cases"], 2000.0),
            result("a", "create", ["50 generated cases"], 0.5),
            result("a", "create", ["25 generated cases"]),
            result("a", "delete", ["25 generated cases"], 500.0),
            result("a", "lifecycle", ["13 lifecycle steps"]),
            result("a", "delete", ["gone after 1 poll(s)"]),
        ]
    }
    cases, fuzz, fuzz_seconds = count_cases(results)
    assert (cases, fuzz) == (50 + 25 + 13, 75)
    assert fuzz_seconds == pytest.approx(2.5005)


def test_selftest_lines_are_parsed() -> None:
    stdout = (
        "baseten  faithful                           ok               3.7s  -\n"
        "baseten  baseten-html-404                   ok               1.0s  BTN-DELETE-ERROR-IS-JSON\n"
        "oxen     oxen-500-on-unknown                MISSED          14.6s  -\n"
        "detected 1/2 faults with the right requirement; faithful mocks clean: 1/1\n"
    )
    lines, totals = parse(stdout)
    assert lines[("baseten", "baseten-html-404")] == ("ok", 1.0)
    assert lines[("oxen", "oxen-500-on-unknown")] == ("MISSED", 14.6)
    assert totals == (1, 2)


def test_the_examples_scale_multiplies_every_example_count(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = get_profile("quick")
    monkeypatch.setenv(SCALE_ENV, "4")
    scaled = get_profile("quick")
    assert scaled.fuzz_examples == 4 * plain.fuzz_examples
    assert scaled.valid_examples == 4 * plain.valid_examples
    assert scaled.stateful_steps == plain.stateful_steps
    monkeypatch.setenv(SCALE_ENV, "-1")
    with pytest.raises(UsageError):
        get_profile("quick")


@pytest.mark.skipif(not wrk.available(), reason="wrk is not installed (apt-get install wrk)")
def test_one_second_of_wrk_against_the_ceiling_app(tmp_path: Path) -> None:
    port = procs.free_port()
    argv = procs.python_server_argv("--app", "ceiling", "--port", str(port))
    with procs.running("ceiling", argv, port, tmp_path / "ceiling.log"):
        load = wrk.run(port, wrk.Script("delete", "/v1/models", "", "", "x"), 1, threads=1, connections=2)
    assert load.requests > 0
    assert load.rps > 0
    assert (load.socket_errors, load.status_errors) == (0, 0)
    assert 0 < load.p50_ms <= load.p99_ms


def test_mock_targets_are_8x_faithful_and_4x_validating_with_p99_under_5_ms() -> None:
    from benchmarks.report import evaluate_targets, table
    from benchmarks.stats import Row, figure

    def row(mode: str, times: float, p99: float) -> Row:
        figures = {"rps": figure("req/s", [1.0]), "p99_ms": figure("ms", [p99]), "x_prism": figure("x", [times])}
        return Row("mock", "oxen delete", figures, {"mode": mode, "server": "granian"})

    rows = [row("faithful", 8.1, 4.9), row("faithful", 7.9, 1.0), row("validating", 4.0, 4.0), row("validating", 5, 6)]
    targets = evaluate_targets({"mock": rows})
    assert [t["met"] for t in targets] == [True, False, True, False]
    assert targets[0]["target"] == "mock oxen delete (faithful, granian): >= 8x Prism and p99 < 5 ms"
    assert "| oxen delete (validating, granian) |" in table("mock", rows)
