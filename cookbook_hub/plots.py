"""The figures our cards show: recipe weights, the training loss, evaluation results and alignment reports (bars
with error bars and chance levels). One matplotlib setup.

Every figure is drawn headless (the Agg backend) and saved as a PNG without a `Software` stamp, so the
same data gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BAR_COLOR = "#4c72b0"
DPI = 100


@contextmanager
def figure(path: Path, size: tuple[float, float]) -> Iterator[Any]:
    """Yield the axes of a new figure; on exit lay it out, save it to `path` as PNG and close it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, dpi=DPI)
    try:
        yield ax
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, metadata={"Software": None})
    finally:
        plt.close(fig)


def weights_plot(
    path: Path, name: str, templates: Sequence[str], weights: Sequence[float], before: Sequence[float] | None = None
) -> Path:
    """A recipe's template weights as a horizontal bar chart (first template on top); with `before` (a learned
    recipe's base weights), those are drawn beside them."""
    labels, values = list(templates)[::-1], list(weights)[::-1]
    height = 0.4 if before is not None else 0.8
    with figure(path, (6, (0.7 if before is not None else 0.45) * len(labels) + 1.2)) as ax:
        ys = [y + (height / 2 if before is not None else 0) for y in range(len(labels))]
        ax.barh(ys, values, height, color=BAR_COLOR, label="learned" if before is not None else None)
        for y, w in zip(ys, values):
            ax.text(w, y, f" {w:.2f}", va="center", fontsize=9)
        if before is not None:
            old = list(before)[::-1]
            ax.barh([y - height / 2 for y in range(len(labels))], old, height, color="#bbbbbb", label="base recipe")
            ax.legend(fontsize=8, loc="lower right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("weight (share of rows)")
        ax.set_xlim(0, max([*values, *(before or [])]) * 1.25)
        ax.set_title(f"{name}: template weights")
    return path


def heatmap(
    path: Path, title: str, rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float | None]]
) -> Path:
    """A matrix as a diverging heatmap centred on 0, each cell labelled with its value (blank where None)."""
    import numpy as np

    data = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)
    bound = float(np.nanmax(np.abs(data))) if np.isfinite(data).any() else 1.0
    with figure(path, (1.6 * len(columns) + 2.5, 0.45 * len(rows) + 1.6)) as ax:
        ax.imshow(np.ma.masked_invalid(data), cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
        ax.set_xticks(range(len(columns)), columns, fontsize=8, rotation=15, ha="right")
        ax.set_yticks(range(len(rows)), rows, fontsize=8)
        for (i, j), v in np.ndenumerate(data):
            dark = not np.isnan(v) and abs(v) > 0.6 * bound
            label = "–" if np.isnan(v) else f"{v:+.3f}"
            ax.text(j, i, label, ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.set_title(title, fontsize=10)
    return path


def loss_plot(path: Path, points: Sequence[tuple[int, float]]) -> Path:
    """The training loss against the step."""
    steps, losses = zip(*points)
    with figure(path, (6, 3.5)) as ax:
        ax.plot(steps, losses, marker="o" if len(points) < 30 else None, color=BAR_COLOR)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.grid(alpha=0.3)
    return path


def grouped_bars(
    path: Path,
    title: str,
    labels: Sequence[str],
    groups: dict[str, Sequence[float]],
    line: tuple[str, float] | None = None,
    errors: dict[str, Sequence[float]] | None = None,
    chance: Sequence[float | None] | None = None,
) -> Path:
    """Bars of values in [0, 1], one group of bars per label and one bar per group member, with optional error
    bars (`errors`, per group member, e.g. one standard error), a dashed horizontal reference line (name, value)
    across the chart, and a dotted chance mark over each label's bars (`chance`, None where unknown)."""
    with figure(path, (max(7, 1.4 * len(labels)), 3.8)) as ax:
        width = 0.8 / len(groups)
        for i, (name, values) in enumerate(groups.items()):
            spread = (errors or {}).get(name)
            ax.bar([x + i * width for x in range(len(labels))], values, width, label=name, yerr=spread, capsize=3)
        if line is not None:
            ax.axhline(line[1], color="black", linestyle="--", linewidth=1, label=line[0])
        marked = [(x, level) for x, level in enumerate(chance or ()) if level is not None]
        for k, (x, level) in enumerate(marked):
            ax.hlines(level, x - width / 2, x + width * (len(groups) - 0.5), colors="black", linestyles=":",
                      linewidth=1.5, label="chance" if k == 0 else None)  # fmt: skip
        ax.set_xticks([x + width * (len(groups) - 1) / 2 for x in range(len(labels))])
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.legend(fontsize=8)
    return path
