"""The collector during a run's start-up: paused until settle(), then the start-up heap frozen; restored after."""

from __future__ import annotations

import gc
import subprocess
import sys

from conformance.run import heap


def test_paused_until_settled_then_restored() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with heap.paused():
        assert not gc.isenabled()
        with heap.paused():  # nested: nothing changes
            assert not gc.isenabled()
        assert not gc.isenabled()
        kept: list[list[int]] = [[] for _ in range(100)]
        heap.settle()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(kept)
        heap.settle()  # twice: nothing more
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # what was frozen is collectable again


def test_settle_outside_paused_does_nothing() -> None:
    frozen = gc.get_freeze_count()
    heap.settle()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_a_disabled_collector_stays_the_owners_choice() -> None:
    gc.disable()
    try:
        with heap.paused():
            heap.settle()
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_run_parser_imports_neither_the_mocks_nor_uvicorn() -> None:
    code = (
        "import sys\n"
        "from conformance.cli.main import build_parser\n"
        "build_parser('run').parse_args(['run', '--vendor', 'baseten', '--base-url', 'http://127.0.0.1:1'])\n"
        "import conformance.run.runner, conformance.reports.writers\n"
        "loaded = sorted(m for m in ('conformance.mock', 'uvicorn', 'harfile', 'conformance.reports.matrix.write')"
        " if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""
