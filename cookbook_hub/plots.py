"""The figures our cards show: recipe weights, the training loss, an alignment report. One matplotlib setup.

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


def weights_plot(path: Path, name: str, templates: Sequence[str], weights: Sequence[float]) -> Path:
    """A recipe's template weights as a horizontal bar chart (first template on top)."""
    labels, values = list(templates)[::-1], list(weights)[::-1]
    with figure(path, (6, 0.45 * len(labels) + 1.2)) as ax:
        ax.barh(labels, values, color=BAR_COLOR)
        for y, w in enumerate(values):
            ax.text(w, y, f" {w:.2f}", va="center", fontsize=9)
        ax.set_xlabel("weight (share of rows)")
        ax.set_xlim(0, max(values) * 1.2)
        ax.set_title(f"{name}: template weights")
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
) -> Path:
    """Bars of values in [0, 1], one group of bars per label and one bar per group member, with an optional
    dashed horizontal reference line (name, value)."""
    with figure(path, (7, 3.8)) as ax:
        width = 0.8 / len(groups)
        for i, (name, values) in enumerate(groups.items()):
            ax.bar([x + i * width for x in range(len(labels))], values, width, label=name)
        if line is not None:
            ax.axhline(line[1], color="black", linestyle="--", linewidth=1, label=line[0])
        ax.set_xticks([x + width * (len(groups) - 1) / 2 for x in range(len(labels))])
        ax.set_xticklabels(labels)
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.legend(fontsize=8)
    return path
