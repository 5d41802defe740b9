"""matrix.html of real runs at 400 px in headless Chromium (driven over the DevTools protocol): it wraps, with no
horizontal scroll and no header broken inside a word; columns carry the run labels; score bars are proportional."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import embedded_conformance
from tests.reports.reports_cdp import BROKEN_HEADER_WORDS, NEEDS_CHROMIUM, Browser


@pytest.fixture(scope="module")
def matrix_dir(embedded_runs: Path) -> Path:
    """The matrix of a faithful and a faulty run of the embedded default (tests/conftest.py), labelled, the faithful
    one given twice."""
    base, faulty, out = embedded_runs / "base", embedded_runs / "faulty", embedded_runs / "matrix-layout"
    report = embedded_conformance(
        "report", base, faulty, base / "results.json", "--out", out,
        "--label", "faithful", "--label", "no-409", "--label", "faithful-again",
    )  # fmt: skip
    assert report.returncode == 1, report.stdout + report.stderr
    return out


def test_columns_carry_the_labels_and_a_run_given_twice_once(matrix_dir: Path) -> None:
    data = json.loads((matrix_dir / "matrix.json").read_text(encoding="utf-8"))
    blaxel = [c for c in data["columns"] if c["vendor"] == "blaxel"]
    assert [c["label"] for c in blaxel] == ["blaxel-mock · faithful", "blaxel-mock · no-409"]
    assert len(data["runs"]) == 2 and len(data["columns"]) == 6
    summary = (matrix_dir / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# Conformance report of 2 run(s): FAIL")
    assert "| blaxel-mock | blaxel | no-409 | create-no-409 | " in summary


def test_score_bars_are_proportional(matrix_dir: Path) -> None:
    page = (matrix_dir / "matrix.html").read_text(encoding="utf-8")
    data = json.loads((matrix_dir / "matrix.json").read_text(encoding="utf-8"))
    faulty = next(c for c in data["columns"] if c["label"] == "blaxel-mock · no-409")["score"]["MUST"]
    passed, total = faulty["passed"], faulty["total"]
    assert 0 < total - passed <= total // 10 and total >= 20  # a few failures among many rows
    width = min(5 * round(round(100 * passed / total) / 5), 95)
    bar = f'aria-label="{passed} of {total} passed"><span class="ok w{width}"></span>'
    assert width >= 90 and bar in page, "a few failures in many are a sliver of red, not a red bar"
    clean = next(c for c in data["columns"] if c["label"] == "baseten-mock · faithful")["score"]["MUST"]
    assert clean["passed"] == clean["total"] > 0
    assert f'aria-label="{clean["total"]} of {clean["total"]} passed"><span class="ok w100"></span>' in page


@NEEDS_CHROMIUM
def test_the_matrix_wraps_at_400_px(matrix_dir: Path, tmp_path: Path) -> None:
    with Browser(tmp_path / "profile", width=400) as browser:
        browser.open((matrix_dir / "matrix.html").as_uri())
        width = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        broken = browser.evaluate(BROKEN_HEADER_WORDS)
        overflowing = browser.evaluate(
            "[...document.querySelectorAll('.scroll')].filter(d => d.scrollWidth > d.clientWidth + 1)"
            ".map(d => (d.closest('section') || {}).id)"
        )
        headers = browser.evaluate("document.querySelectorAll('th').length")
        bars = browser.evaluate(
            "[...document.querySelectorAll('.bar span')].map(s => s.getBoundingClientRect().width"
            " / s.parentElement.getBoundingClientRect().width)"
        )
    assert width == [400, 400], "no horizontal scroll at 400 px"
    assert broken == [], f"headers broken inside a word: {broken[:10]}"
    assert overflowing == [], f"tables wider than the screen: {overflowing}"
    assert headers > 20
    assert any(0.9 <= share < 0.99 for share in bars) and max(bars) == 1.0, bars


@NEEDS_CHROMIUM
def test_the_check_of_broken_words_can_fail(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><style>th{overflow-wrap:anywhere;max-width:30px}</style>"
        "<table><tr><th>blaxel-mock-staging-eu</th></tr></table><div style='width:600px'>x</div>",
        encoding="utf-8",
    )
    with Browser(tmp_path / "profile", width=400) as browser:
        browser.open(page.as_uri())
        assert browser.evaluate(BROKEN_HEADER_WORDS) == ["blaxel-mock-staging-eu"]
        assert browser.evaluate("document.documentElement.scrollWidth") > 400
