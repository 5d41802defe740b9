"""What a benchmark run was asked to do."""

from __future__ import annotations

from dataclasses import dataclass, field

SECTIONS: tuple[str, ...] = ("mock", "suite", "selftest", "growth", "latency", "servers", "overhead")


@dataclass(frozen=True)
class Options:
    """How long and how often to measure, and which sections."""

    duration: float = 30.0
    repeat: int = 3
    warmup: float = 2.0
    quick: bool = False
    sections: tuple[str, ...] = SECTIONS
    profiles: tuple[str, ...] = ("quick", "nightly")
    scales: tuple[int, ...] = (1, 4, 16)
    target_counts: tuple[int, ...] = (1, 2, 4)
    selftest_vendors: tuple[str, ...] = field(default_factory=tuple)
    seed: int = 1
