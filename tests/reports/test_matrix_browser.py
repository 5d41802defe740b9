"""The browser check: matrix.html of real runs, rendered by headless Chromium (skipped when Chromium is absent)."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.helpers import EMBEDDED_FAULTS, embedded_conformance

CHROMIUM = os.environ.get("CONFORMANCE_CHROMIUM") or next(
    (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium absent: install the Debian package `chromium` (apt-get install -y chromium) or set "
    "CONFORMANCE_CHROMIUM to run the browser check of matrix.html",
)
FAULTS = EMBEDDED_FAULTS  # one fault in blaxel and one in baseten (tests/conftest.py's faulty run)


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a fresh profile, no network beyond the file it opens."""
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--hide-scrollbars"]
    flags += ["--no-first-run", "--disable-extensions", f"--user-data-dir={profile}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def matrix_dir(embedded_runs: Path) -> Path:
    """The matrix of two real runs of the embedded default (tests/conftest.py): faithful mocks, then one fault in
    blaxel and baseten."""
    out = embedded_runs / "matrix-browser"
    report = embedded_conformance("report", embedded_runs / "base", embedded_runs / "faulty", "--out", out)
    assert report.returncode == 1, report.stdout + report.stderr
    return out


class _Rows(HTMLParser):
    """Collects, per vendor section, the requirement ids of its table rows, and the single-target failures."""

    def __init__(self) -> None:
        super().__init__()
        self.section = ""
        self.rows: dict[str, list[str]] = {}
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.section = values.get("id") or ""
        self._in_code = tag == "code"

    def handle_data(self, data: str) -> None:
        if self._in_code and re.fullmatch(r"[A-Z]+(-[A-Z0-9]+)+", data):
            self.rows.setdefault(self.section, []).append(data)
        self._in_code = False


def test_chromium_renders_every_row_of_the_matrix(matrix_dir: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path / "profile", "--dump-dom", (matrix_dir / "matrix.html").as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = _Rows()
    parsed.feed(dom.stdout)
    data = json.loads((matrix_dir / "matrix.json").read_text(encoding="utf-8"))
    for vendor in {row["vendor"] for row in data["rows"]}:
        expected = [row["requirement"] for row in data["rows"] if row["vendor"] == vendor]
        assert parsed.rows[f"vendor-{vendor}"] == expected
    single = [s["requirement"] for s in data["single_target_failures"]]
    assert parsed.rows["single"] == single and set(FAULTS.values()) <= set(single)
    assert len(re.findall(r'class="st failed"', dom.stdout)) >= 2 * len(FAULTS)  # cell and its evidence


def test_chromium_screenshot_is_a_real_picture(matrix_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "matrix.png"
    done = chromium(
        tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000", (matrix_dir / "matrix.html").as_uri()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1280, 2000)
    assert len(png) > 60_000, "a blank page of that size is about 10 kB; the matrix is text, bars and colours"
