"""The self-test: the suite must catch every fault of the reference mocks, and nothing on the faithful ones."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conformance.catalog import load_vendor, vendor_names
from conformance.errors import ExitCode, UsageError
from conformance.runner import RunRequest, execute


@dataclass
class FaultOutcome:
    """What the suite said about one injected fault (``fault`` is empty for the faithful mock)."""

    vendor: str
    fault: str
    expected: tuple[str, ...]
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Faithful: nothing failed or errored. Fault: every expected requirement failed (an error is no verdict)."""
        if not self.fault:
            return not self.failed and not self.errors
        return all(r in self.failed for r in self.expected)


def selftest_cases(vendors: Sequence[str], faults: Sequence[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(vendor, fault, expected requirement ids) for the faithful mocks and every selected fault."""
    cases: list[tuple[str, str, tuple[str, ...]]] = []
    for name in vendors or vendor_names():
        vendor = load_vendor(name)
        cases.append((name, "", ()))
        cases += [(name, f, exp) for f, exp in vendor.faults.items() if not faults or f in faults]
    if faults:
        known = {f for _, f, _ in cases}
        unknown = [f for f in faults if f not in known]
        if unknown:
            raise UsageError(f"unknown fault(s): {', '.join(unknown)}")
    return cases


def run_selftest(
    *,
    vendors: Sequence[str],
    faults: Sequence[str],
    profile: str,
    seed: int,
    report_dir: Path,
    requirements: Sequence[str] = (),
) -> ExitCode:
    """Run every case, print the table fault -> detected? -> failed requirements, and judge."""
    outcomes: list[FaultOutcome] = []
    for vendor, fault, expected in selftest_cases(vendors, faults):
        started = time.perf_counter()
        label = fault or "faithful"
        outcome = execute(
            RunRequest(
                vendors=[vendor],
                profile=profile,
                seed=seed,
                faults=[fault] if fault else [],
                report_dir=report_dir / f"{vendor}-{label}",
                requirements=requirements,
            )
        )
        failed = sorted(r.requirement for r in outcome.results.results if r.status == "failed")
        errors = sorted(r.requirement for r in outcome.results.results if r.status == "error")
        outcomes.append(FaultOutcome(vendor, fault, expected, failed, time.perf_counter() - started, errors))
        result = outcomes[-1]
        verdict = "ok" if result.ok else "MISSED" if fault else "FALSE POSITIVE"
        blamed = ", ".join(failed) or "-"
        if errors:
            blamed += f"  (not judged: {', '.join(errors)})"
        print(f"{vendor:<8} {label:<34} {verdict:<14} {result.seconds:5.1f}s  {blamed}", flush=True)
    faults_total = [o for o in outcomes if o.fault]
    detected = [o for o in faults_total if o.ok]
    clean = [o for o in outcomes if not o.fault and o.ok]
    faithful = [o for o in outcomes if not o.fault]
    print(
        f"detected {len(detected)}/{len(faults_total)} faults with the right requirement; "
        f"faithful mocks clean: {len(clean)}/{len(faithful)}"
    )
    return (
        ExitCode.CONFORMANT if len(detected) == len(faults_total) and len(clean) == len(faithful) else ExitCode.FAILURES
    )
