"""Reports are inert whatever their input: hostile results.json files are refused (one line, exit 2) or rendered
escaped under a Content-Security-Policy, and headless Chromium runs nothing while the page still renders."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.reports.reports_cdp import CHROMIUM, NEEDS_CHROMIUM, Browser

HOSTILE = [
    "<script>window.PWNED=1</script>",
    '"><img src=x onerror="window.PWNED=2">',
    "javascript:window.PWNED=3",
    "<svg onload=window.PWNED=4>",
    "<a href='javascript:window.PWNED=5'>click</a>",
    "</pre></details><iframe src=javascript:window.PWNED=6></iframe>",
    "<style>body{display:none}</style>",
    "<meta http-equiv=refresh content='0;url=javascript:window.PWNED=7'>",
]
HUGE = "A" * 300_000


def conformance(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "conformance", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def nested(depth: int) -> Any:
    """A value nested ``depth`` levels deep."""
    value: Any = "bottom"
    for _ in range(depth):
        value = {"deeper": [value]}
    return value


def exchange(payload: str) -> dict[str, Any]:
    """An evidence exchange carrying ``payload`` everywhere a string goes."""
    return {
        "request": {"method": "POST", "url": f"http://127.0.0.1:9/v0/models?q={payload}", "headers": {payload: payload},
                    "body": payload},
        "response": {"status": 200, "headers": {"Content-Type": "text/html", payload: payload}, "body": payload},
        "curl": f"curl {payload}",
        "note": payload,
    }  # fmt: skip


def hostile_results(run_id: str) -> dict[str, Any]:
    """A results.json that the schema accepts, with hostile strings in every member a report shows."""
    payloads = iter(HOSTILE * 40)
    results = []
    for index, (vendor, operation, status) in enumerate(
        [("blaxel", "create", "failed"), ("blaxel", "create", "passed"), ("blaxel", "delete", "error"),
         (HOSTILE[3], HOSTILE[2], "failed"), ("blaxel", "delete", "skipped")]
    ):  # fmt: skip
        text = next(payloads)
        results.append(
            {
                "requirement": f"BLX-X-{index}{text}" if index % 2 else text,
                "level": "MUST" if index % 2 == 0 else "SHOULD",
                "vendor": vendor,
                "operation": operation,
                "target": HOSTILE[0] if vendor == "blaxel" else HOSTILE[1],
                "status": status,
                "rule": next(payloads),
                "source": {"seed": next(payloads), "field": next(payloads)},
                "message": (next(payloads) + HUGE) if index == 0 else next(payloads),
                "evidence": {
                    "examined": 3,
                    "notes": [next(payloads), next(payloads)],
                    "exchanges": [exchange(next(payloads)), exchange(next(payloads))],
                    "deep": nested(400),
                },
                "duration_ms": 1.0,
                "unknown_member": nested(400),
            }
        )
    return {
        "format": "conformance-results",
        "version": 1,
        "run_id": run_id,
        "profile": HOSTILE[4][:200],
        "seed": 1,
        "started": HOSTILE[5],
        "finished": HOSTILE[6],
        "targets": [
            {"name": HOSTILE[0], "vendor": "blaxel", "base_url": "javascript:window.PWNED=8",
             "spec_version": HOSTILE[7], "token_env": "", "faults": [HOSTILE[1], HOSTILE[2]], "embedded": True},
            {"name": HOSTILE[1], "vendor": HOSTILE[3], "base_url": HOSTILE[2], "faults": []},
        ],
        "results": results,
        "leaks": [{"target": HOSTILE[0], "id": HOSTILE[1], "reason": HOSTILE[2]}],
        "tool_versions": {HOSTILE[0]: HOSTILE[1]},
        "requests": 3,
        "notes": [HOSTILE[3]],
    }  # fmt: skip


class _Dom(HTMLParser):
    """Everything in a page that could run or load something."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.active: list[str] = []
        self.csp: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in {"script", "iframe", "object", "embed", "img", "svg", "link", "base", "form", "frame"}:
            self.active.append(f"<{tag}>")
        if tag == "meta" and (dict(attrs).get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(dict(attrs).get("content") or "")
        elif tag == "meta" and dict(attrs).get("http-equiv"):
            self.active.append(f"<meta http-equiv={dict(attrs).get('http-equiv')}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.active.append(f"{tag} {name}=")
            if name in {"href", "src", "action", "formaction", "style"} and (
                name == "style" or not (value or "").startswith("#")
            ):
                self.active.append(f"{tag} {name}={value}")


def inert(page: str) -> _Dom:
    """The parsed page, asserted inert: one CSP allowing no script, no active element or attribute."""
    dom = _Dom()
    dom.feed(page)
    assert dom.active == [], dom.active[:10]
    assert len(dom.csp) == 1
    policy = {d.split()[0]: d.split()[1:] for d in dom.csp[0].split(";") if d.strip()}
    assert policy["default-src"] == ["'none'"] and policy["script-src"] == ["'none'"]
    assert policy["img-src"] == ["'none'"] and all(s.startswith("'sha256-") for s in policy["style-src"])
    return dom


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`conformance report` of two hostile results files (and one of them again), with a hostile label."""
    root = tmp_path_factory.mktemp("hostile")
    for name in ("one", "two"):
        (root / name).mkdir()
        (root / name / "results.json").write_text(json.dumps(hostile_results(f"run-{name}")), encoding="utf-8")
    done = conformance(
        "report", root / "one", root / "two", root / "one" / "results.json", "--out", root / "out",
        "--label", HOSTILE[0], "--label", HOSTILE[1], "--label", "again",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # the hostile runs fail MUST requirements: judged, not lost
    assert "Traceback" not in done.stderr
    return root / "out"


def test_the_written_page_escapes_every_value_and_forbids_scripts(hostile_report: Path) -> None:
    page = (hostile_report / "matrix.html").read_text(encoding="utf-8")
    dom = inert(page)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;window.PWNED=1&lt;/script&gt;" in page  # shown, as text
    assert dom.tags.count("section") >= 5
    assert len(page) < 3 * len(HUGE), "huge values are clipped, not repeated"
    columns = json.loads((hostile_report / "matrix.json").read_text(encoding="utf-8"))["columns"]
    assert len(columns) == 4, "the run given twice is shown once"


@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium absent: apt-get install -y chromium, or set CONFORMANCE_CHROMIUM"
)
def test_chromium_runs_nothing_and_renders_the_hostile_page(hostile_report: Path, tmp_path: Path) -> None:
    url = (hostile_report / "matrix.html").as_uri()
    with Browser(tmp_path / "profile", width=1280) as browser:
        browser.open(url)
        state = browser.evaluate(
            "({pwned: typeof window.PWNED, scripts: document.scripts.length, title: document.title,"
            " h1: document.querySelector('h1').textContent, rows: document.querySelectorAll('tr').length,"
            " visible: getComputedStyle(document.body).display,"
            " active: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
            "   .filter(a => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value)).map(a => a.name))})"
        )
        dom = browser.evaluate("document.documentElement.outerHTML")
        shot = browser.screenshot()
        console = browser.console()
    assert state["pwned"] == "undefined" and state["scripts"] == 0 and state["active"] == []
    assert state["title"] == "Vendor-compatibility matrix" and state["h1"] == "Vendor-compatibility matrix"
    assert state["rows"] > 10 and state["visible"] == "block"
    assert not [c for c in console if "PWNED" in c], console
    inert(str(dom))
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000, "the page is drawn, not blank"


@NEEDS_CHROMIUM
def test_dump_dom_of_the_hostile_page_is_inert(hostile_report: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    done = subprocess.run(
        [
            CHROMIUM,
            *flags,
            f"--user-data-dir={tmp_path / 'p'}",
            "--dump-dom",
            (hostile_report / "matrix.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    inert(done.stdout)
    assert "&lt;svg onload=window.PWNED=4&gt;" in done.stdout


def _refused(tmp_path: Path, data: Any, *, raw: str | None = None) -> str:
    path = tmp_path / "results.json"
    path.write_text(raw if raw is not None else json.dumps(data), encoding="utf-8")
    done = conformance("report", path, "--out", tmp_path / "out")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr[:2000]
    assert str(path) in done.stderr and not (tmp_path / "out").exists()
    return done.stderr


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        (("results", 0, "evidence", "examined"), HOSTILE[1], '$.results[0].evidence.examined: expected type "integer"'),
        (("results", 1, "status"), "<b>pwned</b>", "$.results[1].status: expected enum"),
        (("targets", 0, "token_env"), "$(rm -rf ~)", "$.targets[0].token_env: expected pattern"),
        (("results", 2, "evidence", "exchanges", 0, "request", "headers"), [HOSTILE[0]], "expected type"),
        (("version",), 2, "$.version: 2 is newer"),
        (("format",), "something-else", '$.format: expected const "conformance-results"'),
    ],
)
def test_a_results_file_breaking_the_schema_is_one_line_and_exit_2(
    tmp_path: Path, where: tuple[str | int, ...], value: Any, expected: str
) -> None:
    data = hostile_results("bad")
    node: Any = data
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    message = _refused(tmp_path, data)
    assert expected in message, message
    assert len(message) < 400, "the line names the place, it does not echo the value"


def test_too_deep_or_not_json_is_one_line_and_exit_2(tmp_path: Path) -> None:
    assert "nested too deeply" in _refused(tmp_path, None, raw="[" * 100_000 + "]" * 100_000)
    assert "is not JSON" in _refused(tmp_path, None, raw='{"format": "conformance-results", ')


def test_a_label_per_run_dir(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "results.json").write_text(json.dumps(hostile_results("r")), encoding="utf-8")
    done = conformance("report", tmp_path / "one", "--out", tmp_path / "out", "--label", "a", "--label", "b")
    assert done.returncode == 2 and "--label: 2 label(s) for 1 run(s)" in done.stderr, done.stderr


def test_every_html_output_is_checked_here() -> None:
    """The matrix is the only HTML a report writes; a new HTML format must join the checks above."""
    package = Path(__file__).parents[2] / "conformance" / "reports"
    html_writers = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if re.search(r"<!DOCTYPE html>", p.read_text())
    )
    assert html_writers == [os.path.join("matrix", "html.py")]
