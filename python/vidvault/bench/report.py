"""A benchmark's result: figures beside their baselines and targets,
rendered as a table for people or JSON for machines."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    #: value / baseline, when a baseline was measured.
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


@dataclass
class Report:
    bench: str
    machine: dict[str, Any]
    parameters: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str, *, baseline: float | None = None, baseline_name: str = "",
            target: str = "", met: bool | None = None) -> Figure:
        ratio = None if baseline in (None, 0) else value / baseline  # type: ignore[operator]
        fig = Figure(name, value, unit, baseline, baseline_name, ratio, target, met)
        self.figures.append(fig)
        return fig

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    def table(self) -> str:
        m = self.machine
        lines = [
            f"vidvault bench {self.bench}",
            f"machine   {m['cpu']}, {m['cores']} cores, {m['memory_bytes'] / 2**30:.0f} GiB, Linux {m['kernel']}",
            f"storage   {m['directory']} on {m['filesystem']} ({m['device']}), "
            f"{m['free_bytes'] / 1e9:.1f} GB free of {m['total_bytes'] / 1e9:.1f} GB",
            "versions  " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
            "params    " + ", ".join(f"{k}={v}" for k, v in self.parameters.items()),
            "",
        ]
        rows = [("figure", "value", "baseline (same run)", "ratio", "target")]
        for f in self.figures:
            base = "" if f.baseline is None else f"{_fmt(f.baseline)} {f.unit} {f.baseline_name}".strip()
            ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
            target = f.target + ({True: "  met", False: "  NOT MET", None: ""}[f.met] if f.target else "")
            rows.append((f.name, f"{_fmt(f.value)} {f.unit}", base, ratio, target))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for i, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) if j in (0, 2, 4) else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"
