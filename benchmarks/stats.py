"""Figures: the median of several runs with their minimum and maximum."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured quantity over several runs."""

    unit: str
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median sample (NaN when there is none)."""
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def min(self) -> float:
        """The smallest sample."""
        return min(self.samples) if self.samples else float("nan")

    @property
    def max(self) -> float:
        """The largest sample."""
        return max(self.samples) if self.samples else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """JSON form: unit, median, min, max, n and the samples."""
        return {
            "unit": self.unit,
            "median": _round(self.median),
            "min": _round(self.min),
            "max": _round(self.max),
            "n": len(self.samples),
            "samples": [_round(s) for s in self.samples],
        }


def figure(unit: str, samples: Sequence[float]) -> Figure:
    """A figure from samples."""
    return Figure(unit, tuple(float(s) for s in samples))


def ratio(numerator: Figure, denominator: Figure) -> Figure:
    """The ratio of two figures' medians (one sample: ratios of medians, not medians of ratios)."""
    if not numerator.samples or not denominator.samples or denominator.median == 0:
        return Figure("x", ())
    return Figure("x", (numerator.median / denominator.median,))


@dataclass
class Row:
    """One line of a section's table: what was measured, its figures and notes."""

    section: str
    name: str
    figures: dict[str, Figure] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self, machine: dict[str, Any]) -> dict[str, Any]:
        """JSON form, with the machine it was measured on beside the figures."""
        return {
            "section": self.section,
            "name": self.name,
            "figures": {k: v.as_dict() for k, v in self.figures.items()},
            "info": self.info,
            "notes": self.notes,
            "machine": machine,
        }


def _round(value: float) -> float | None:
    """Round for JSON; NaN becomes null."""
    if value != value:
        return None
    return round(value, 4)
