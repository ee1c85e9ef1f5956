"""End-to-end generation benchmark: every template into Parquet, against reasoning-gym.

Run from the repository root (`make bench` does the same):

    python benchmarks/generation.py                      # full default run (~10 min on 2 cores)
    python benchmarks/generation.py --rows 20000 --big-rows 200000 --templates copy,sort
    python benchmarks/generation.py --baseline /tmp/base   # also time another version of the package

Each configuration (a template or reasoning-gym, with 1 or 2 processes) runs in a fresh child
process, so its peak RSS is its own. A template's rows are built the way `cookbook-hub build` writes
them (`--engine parts`, the default): a one-template recipe whose train split is cut into Parquet
files of `--part-rows` rows, written by 1 or 2 processes, each process writing whole files. With
`--engine file` they go through `generate` into one Parquet file instead (one writer, however many
processes generate); the baseline always runs that way. Results go to
benchmarks/results/generation.{json,md}.
reasoning-gym is needed only here: `pip install reasoning-gym` (or pass --no-rg).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULT_MARK = "BENCH-RESULT "
PROCS = (1, 2)
ENGINES = ("parts", "file")
RG = "reasoning-gym"
BASELINE = "baseline"
RG_TASKS = ("word_sorting", "letter_counting")
RG_BATCH_ROWS = 4096  # the same batch size as cookbook_hub.generation.generate.CHUNK_ROWS
MB = 1e6
PER_CORE_TARGET_MBS = 25.0
SCALING_TARGET = 1.8  # "near-linear" with 2 processes: at least 90 % efficiency
RSS_TARGET_MB = 1000.0
OVERHEAD_ROWS = 2 * RG_BATCH_ROWS  # two chunks: the smallest run that starts a worker pool
SAMPLE_EVERY_S = 0.1
FAIR_CPU_SHARE = 0.9  # a 1-process run getting less CPU than this was competing with other work


# --- command line -------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options (row counts, which templates, repeats)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000, help="rows per template and configuration")
    p.add_argument("--rg-rows", type=int, default=200_000, help="rows for reasoning-gym (the slow peer)")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="parts",
        help="parts: a build's Parquet files, whole files per process; file: `generate` into one file",
    )
    p.add_argument("--part-rows", type=int, default=100_000, help="rows per Parquet file with --engine parts")
    p.add_argument("--big-rows", type=int, default=5_000_000, help="rows of the large streaming build")
    p.add_argument("--big-template", default="copy", help="template of the large build")
    p.add_argument("--big-procs", type=int, default=2, help="processes for the large build")
    p.add_argument("--templates", default="", help="comma-separated template names (default: all)")
    p.add_argument("--repeats", type=int, default=2, help="runs of each configuration; the fastest counts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-rg", action="store_true", help="skip reasoning-gym")
    p.add_argument("--no-big", action="store_true", help="skip the large build")
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a folder holding another version's cookbook_hub package (e.g. `git archive REV cookbook_hub | "
        "tar -x -C DIR`): each template also runs with it, 1 process, in the same round-robin",
    )
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def selected_templates(spec: str) -> list[str]:
    """Template names from a comma-separated list (empty: every registered template)."""
    from cookbook_hub.templates import template_names

    names = template_names()
    if not spec:
        return names
    wanted = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise SystemExit(f"unknown template(s): {', '.join(unknown)}; choose from {', '.join(names)}")
    return wanted


def require_reasoning_gym() -> None:
    """Exit with an install hint when reasoning-gym is missing."""
    try:
        import reasoning_gym  # noqa: F401
    except ImportError:
        raise SystemExit(
            "reasoning-gym is not installed; it is needed only for this benchmark:\n"
            "    pip install reasoning-gym\n"
            "or run without the comparison: python benchmarks/generation.py --no-rg"
        ) from None


# --- peak memory --------------------------------------------------------------------------------
def maxrss_mb(who: int) -> float:
    """Peak RSS in MB of this process (RUSAGE_SELF) or of its largest waited-for child."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak * 1024 / MB


def cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class TreeRssSampler:
    """Polls the RSS of this process and its descendants from a separate process (`rss_sampler.py`: a thread
    here would make the library spawn its workers instead of forking them); `peak_mb` is the largest sum seen."""

    def __init__(self, every_s: float = SAMPLE_EVERY_S) -> None:
        self.every_s, self.peak = every_s, 0
        self.enabled = os.path.isdir("/proc/self")
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> TreeRssSampler:
        if self.enabled:
            script = str(Path(__file__).with_name("rss_sampler.py"))
            cmd = [sys.executable, "-S", script, str(os.getpid()), str(self.every_s)]
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            out, _ = self._proc.communicate(input="", timeout=60)
            self.peak = int(out.strip() or 0)

    @property
    def peak_mb(self) -> float | None:
        """Largest sampled total in MB (None where /proc is unavailable)."""
        return self.peak / MB if self.enabled else None


# --- one configuration, inside a child process ----------------------------------------------------
def run_template(spec: dict[str, Any], out: Path) -> dict[str, Any]:
    """Make `rows` of template `name` with cookbook_hub's own code: a build's Parquet files (engine "parts")
    or `generate` into one Parquet file (engine "file")."""
    name, rows, num_proc, seed = spec["name"], spec["rows"], spec["num_proc"], spec["seed"]
    if spec["engine"] == "file":
        from cookbook_hub.generation.generate import generate
        from cookbook_hub.templates import get_template

        res = generate(get_template(name), rows, out, seed=seed, num_proc=num_proc, overwrite=True, progress=False)
        return {"rows": res.rows, "text_bytes": res.text_bytes}
    from cookbook_hub.dataset.builder import build
    from cookbook_hub.dataset.plan import template_set_recipe

    recipe = template_set_recipe(name, rows).model_copy(update={"splits": {"train": 1.0}, "seed": seed})
    path = out.with_suffix(".yaml")
    path.write_text(recipe.to_yaml())
    res = build(str(path), out, num_proc=num_proc, max_shard_rows=spec["part_rows"], progress=False)
    train = json.loads((out / "cookbook_build.json").read_text())["configs"][recipe.name]["splits"]["train"]
    return {"rows": res.configs[recipe.name]["train"], "text_bytes": train["text_bytes"], "files": len(train["files"])}


def rg_dataset(size: int, seed: int) -> Any:
    """reasoning-gym's composite of word_sorting and letter_counting, equally weighted."""
    import reasoning_gym
    from reasoning_gym.composite import DatasetSpec

    specs = [DatasetSpec(name=task, weight=1.0, config={}) for task in RG_TASKS]
    return reasoning_gym.create_dataset("composite", size=size, seed=seed, datasets=specs)


def rg_batches(dataset: Any, indices: range, batch_rows: int = RG_BATCH_ROWS) -> Iterable[pa.RecordBatch]:
    """Items `indices` of a reasoning-gym dataset as prompt/completion Arrow batches."""
    schema = pa.schema([("prompt", pa.string()), ("completion", pa.string())])
    for lo in range(indices.start, indices.stop, batch_rows):
        items = [dataset[i] for i in range(lo, min(lo + batch_rows, indices.stop))]
        columns = {
            "prompt": [it["question"] for it in items],
            "completion": [str(it["answer"]) for it in items],
        }
        yield pa.RecordBatch.from_pydict(columns, schema=schema)


def prompt_completion_bytes(batch: pa.RecordBatch) -> int:
    """UTF-8 bytes of the prompt and completion columns (what cookbook_hub's `text_bytes` counts)."""
    return sum(int(pc.sum(pc.binary_length(batch.column(c))).as_py() or 0) for c in ("prompt", "completion"))


def rg_write(size: int, seed: int, lo: int, hi: int, path: str) -> tuple[int, int]:
    """Generate items [lo, hi) of the composite into one zstd Parquet file; returns (rows, text bytes)."""
    dataset = rg_dataset(size, seed)
    rows = nbytes = 0
    writer = None
    try:
        for batch in rg_batches(dataset, range(lo, hi)):
            writer = writer or pq.ParquetWriter(path, batch.schema, compression="zstd")
            writer.write_batch(batch)
            rows, nbytes = rows + batch.num_rows, nbytes + prompt_completion_bytes(batch)
    finally:
        if writer is not None:
            writer.close()
    return rows, nbytes


def _rg_write_star(args: tuple[int, int, int, int, str]) -> tuple[int, int]:
    return rg_write(*args)


def run_reasoning_gym(rows: int, num_proc: int, out: Path, seed: int) -> dict[str, Any]:
    """Generate `rows` composite items in `num_proc` processes: one contiguous slice and file each."""
    bounds = [rows * k // num_proc for k in range(num_proc + 1)]
    jobs = [(rows, seed, bounds[k], bounds[k + 1], f"{out}.part{k}") for k in range(num_proc)]
    start = time.perf_counter()
    if num_proc == 1:
        parts = [rg_write(*jobs[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(num_proc) as pool:
            parts = pool.map(_rg_write_star, jobs)
    seconds = time.perf_counter() - start
    return {
        "rows": sum(r for r, _ in parts),
        "text_bytes": sum(b for _, b in parts),
        "generate_seconds": seconds,
    }


def preimport(kind: str) -> None:
    """Import the generator's library before the clock starts (spawned workers still import their own)."""
    if kind == RG:
        import reasoning_gym  # noqa: F401
    else:
        import datasets  # noqa: F401  (the writer's schema metadata; the library loads it only where it is used)

        import cookbook_hub.generation.generate  # noqa: F401
        import cookbook_hub.templates  # noqa: F401

        if importlib.util.find_spec("cookbook_hub.dataset.builder"):  # not in a baseline that predates builds
            import cookbook_hub.dataset.builder  # noqa: F401


def child_main(spec: dict[str, Any]) -> None:
    """Run one configuration and print its measurements as one marked JSON line."""
    out = Path(spec["out"])
    preimport(spec["kind"])
    load = os.getloadavg()[0]
    with TreeRssSampler() as sampler:
        cpu_start, start = cpu_seconds(), time.perf_counter()
        if spec["kind"] == RG:
            got = run_reasoning_gym(spec["rows"], spec["num_proc"], out, spec["seed"])
        else:
            got = run_template(spec, out)
        wall = time.perf_counter() - start
    got.update(
        seconds=wall,
        cpu_seconds=cpu_seconds() - cpu_start,
        rss_parent_mb=maxrss_mb(resource.RUSAGE_SELF),
        rss_worker_max_mb=maxrss_mb(resource.RUSAGE_CHILDREN) if spec["num_proc"] > 1 else 0.0,
        rss_tree_sampled_mb=sampler.peak_mb,
        load_average_1min=load,
    )
    print(RESULT_MARK + json.dumps(got), flush=True)


# --- the parent: run children, summarise ------------------------------------------------------------
def run_child(spec: dict[str, Any], scratch: Path, package: Path | None = None) -> dict[str, Any]:
    """Run one configuration in a fresh interpreter and return its measurements (its files are deleted).
    With `package`, the child imports cookbook_hub from that folder instead."""
    suffix = ".parquet" if spec.get("engine") == "file" or spec["kind"] == RG else ""
    spec = {**spec, "out": str(scratch / f"{spec['name']}-{spec['num_proc']}p{suffix}")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env if package else None)
    for path in scratch.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child failed for {spec}:\n{proc.stderr[-4000:]}")
    got = json.loads(lines[-1][len(RESULT_MARK) :])
    return {**{k: spec[k] for k in ("kind", "name", "num_proc")}, **got}


def derive(rec: dict[str, Any]) -> dict[str, Any]:
    """Add throughput and peak-RSS figures to one measurement."""
    secs, procs = rec["seconds"], rec["num_proc"]
    mbs = rec["text_bytes"] / MB / secs
    return {
        **rec,
        "samples_per_s": rec["rows"] / secs,
        "mb_per_s": mbs,
        "mb_per_s_per_core": mbs / procs,
        "bytes_per_row": rec["text_bytes"] / rec["rows"],
        "mb_per_cpu_s": rec["text_bytes"] / MB / rec["cpu_seconds"],
        "cpu_utilisation": rec["cpu_seconds"] / secs,
        "rss_peak_mb": rec["rss_parent_mb"] + rec["rss_worker_max_mb"],
        "rss_bound_mb": rec["rss_parent_mb"] + procs * rec["rss_worker_max_mb"],
    }


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of repeated runs of one configuration, keeping every run's time and the largest RSS."""
    best = dict(min(runs, key=lambda r: r["seconds"]))
    for key in ("rss_parent_mb", "rss_worker_max_mb", "rss_peak_mb", "rss_bound_mb"):
        best[key] = max(r[key] for r in runs)
    sampled = [r["rss_tree_sampled_mb"] for r in runs if r["rss_tree_sampled_mb"] is not None]
    best["rss_tree_sampled_mb"] = max(sampled) if sampled else None
    best["all_seconds"] = [round(r["seconds"], 3) for r in runs]
    return best


def aggregate(rows: list[dict[str, Any]], num_proc: int, kind: str = "template") -> dict[str, Any]:
    """All templates together at `num_proc`: total rows and bytes over total seconds (of the baseline runs
    with kind="baseline")."""
    mine = [r for r in rows if r["kind"] == kind and r["num_proc"] == num_proc]
    total = {k: sum(r[k] for r in mine) for k in ("rows", "text_bytes", "seconds", "cpu_seconds")}
    name = "all templates" if kind == "template" else "all templates, baseline"
    rec = {"kind": "aggregate", "name": name, "num_proc": num_proc, **total}
    for key in ("rss_parent_mb", "rss_worker_max_mb"):
        rec[key] = max(r[key] for r in mine)
    out = derive(rec)
    out["rss_tree_sampled_mb"] = max((r["rss_tree_sampled_mb"] or 0.0) for r in mine) or None
    return out


def measure(names: list[str], args: argparse.Namespace, scratch: Path) -> list[dict[str, Any]]:
    """Every configuration, repeated round-robin so noise spreads evenly; the fastest run of each."""
    ours = {"engine": args.engine, "part_rows": args.part_rows}
    configs = [{"kind": "template", "name": n, "rows": args.rows, **ours} for n in names]
    if not args.no_rg:
        configs.append({"kind": RG, "name": RG, "rows": args.rg_rows})
    # two parts (or two chunks of one file): the smallest run in which a second process has work
    configs.append({"kind": "overhead", "name": names[0], "rows": OVERHEAD_ROWS, **ours, "part_rows": RG_BATCH_ROWS})
    if args.baseline:
        configs += [{"kind": BASELINE, "name": n, "rows": args.rows, "engine": "file"} for n in names]
    runs: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for rep in range(args.repeats):
        for cfg in configs:
            for procs in PROCS[:1] if cfg["kind"] == BASELINE else PROCS:
                spec = {
                    **cfg,
                    "kind": RG if cfg["kind"] == RG else "template",
                    "num_proc": procs,
                    "seed": args.seed,
                }
                rec = derive(run_child(spec, scratch, args.baseline if cfg["kind"] == BASELINE else None))
                rec["kind"] = cfg["kind"]
                runs.setdefault((cfg["kind"], cfg["name"], procs), []).append(rec)
                tag = " base" if cfg["kind"] == BASELINE else ""
                log(
                    f"[{rep + 1}/{args.repeats}] {cfg['name']:<24} {procs}p{tag}  {rec['seconds']:7.2f} s  "
                    f"{rec['mb_per_s']:6.2f} MB/s  RSS {rec['rss_peak_mb']:6.0f} MB"
                )
    return [best_of(r) for r in runs.values()]


def measure_big(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """The one large build: `--big-rows` rows of `--big-template`, streamed with `--big-procs` processes."""
    spec = {
        "kind": "template",
        "name": args.big_template,
        "rows": args.big_rows,
        "num_proc": args.big_procs,
        "seed": args.seed,
        "engine": args.engine,
        "part_rows": args.part_rows,
    }
    log(f"large build: {args.big_rows:,} rows of {args.big_template!r} with {args.big_procs} processes ...")
    rec = derive(run_child(spec, scratch))
    rec["kind"] = "big"
    log(
        f"large build: {rec['seconds']:.1f} s, RSS parent {rec['rss_parent_mb']:.0f} MB + worker max "
        f"{rec['rss_worker_max_mb']:.0f} MB"
    )
    return rec


# --- comparisons, targets, output -----------------------------------------------------------------
def pick(rows: list[dict[str, Any]], kind: str, name: str, procs: int) -> dict[str, Any] | None:
    """The summarised row for one configuration, if it was measured."""
    return next((r for r in rows if r["kind"] == kind and r["name"] == name and r["num_proc"] == procs), None)


def add_comparisons(rows: list[dict[str, Any]]) -> None:
    """Speedup (2 vs 1 process), and MB/s relative to reasoning-gym's at the same process count."""
    for row in rows:
        one = pick(rows, row["kind"], row["name"], 1)
        row["speedup_vs_1p"] = row["mb_per_s"] / one["mb_per_s"] if one else None
        rg = pick(rows, RG, RG, row["num_proc"])
        row["vs_reasoning_gym"] = row["mb_per_s"] / rg["mb_per_s"] if rg else None


def baseline_lines(rows: list[dict[str, Any]]) -> list[list[str]]:
    """One line per template and the aggregate: 1-process MB/s and MB/CPU-s of the baseline and of this
    version, and their ratios (empty without baseline runs)."""
    pairs = [(r, pick(rows, BASELINE, r["name"], 1)) for r in rows if r["kind"] == "template" and r["num_proc"] == 1]
    pairs.append((pick(rows, "aggregate", "all templates", 1), pick(rows, "aggregate", "all templates, baseline", 1)))
    return [
        [
            ours["name"] if ours["kind"] == "template" else f"**{ours['name']}**",
            fmt(base["mb_per_s"]),
            fmt(ours["mb_per_s"]),
            fmt(ours["mb_per_s"] / base["mb_per_s"]) + "x",
            fmt(base["mb_per_cpu_s"]),
            fmt(ours["mb_per_cpu_s"]),
            fmt(ours["mb_per_cpu_s"] / base["mb_per_cpu_s"]) + "x",
        ]
        for ours, base in pairs
        if ours and base
    ]


BASELINE_HEADER = [
    "template",
    "baseline 1p MB/s",
    "1p MB/s",
    "ratio (wall)",
    "baseline MB/CPU-s",
    "MB/CPU-s",
    "ratio (CPU)",
]


def spawn_overhead(rows: list[dict[str, Any]]) -> float | None:
    """Fixed cost of starting the 2-process pool: 2-process minus 1-process time on a two-chunk run."""
    name = next((r["name"] for r in rows if r["kind"] == "overhead"), None)
    one, two = pick(rows, "overhead", name, 1), pick(rows, "overhead", name, 2)
    return two["seconds"] - one["seconds"] if one and two else None


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def per_core_checks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-core throughput target: over all templates at 1 and 2 processes, and template by template."""
    checks = []
    for procs in PROCS:
        agg = pick(rows, "aggregate", "all templates", procs)
        checks.append(
            {
                "target": f">= {PER_CORE_TARGET_MBS:g} MB/s of formatted text per core, all templates, "
                f"{procs} process(es)",
                "measured": f"{agg['mb_per_s_per_core']:.2f} MB/s per core "
                f"({agg['mb_per_cpu_s']:.2f} MB per CPU-second)",
                "result": verdict(agg["mb_per_s_per_core"] >= PER_CORE_TARGET_MBS),
            }
        )
    per_tpl = [r for r in rows if r["kind"] == "template" and r["num_proc"] == 1]
    passing = [r["name"] for r in per_tpl if r["mb_per_s_per_core"] >= PER_CORE_TARGET_MBS]
    checks.append(
        {
            "target": f">= {PER_CORE_TARGET_MBS:g} MB/s per core, template by template, 1 process",
            "measured": f"{len(passing)}/{len(per_tpl)} templates ({', '.join(passing) or 'none'})",
            "result": verdict(len(passing) == len(per_tpl)),
        }
    )
    return checks


def steady_speedup(rows: list[dict[str, Any]], overhead: float | None) -> float | None:
    """All-template 2-process speedup with the pool start-up taken out of every 2-process run (an estimate)."""
    one, two = pick(rows, "aggregate", "all templates", 1), pick(rows, "aggregate", "all templates", 2)
    runs = sum(1 for r in rows if r["kind"] == "template" and r["num_proc"] == 2)
    steady = two["seconds"] - runs * (overhead or 0.0)
    if overhead is None or steady <= 0:
        return None
    return two["text_bytes"] / MB / steady / one["mb_per_s"]


def scaling_check(rows: list[dict[str, Any]], overhead: float | None) -> dict[str, Any]:
    """The scaling target: 2-process over 1-process throughput, end to end, over all templates."""
    one, two = pick(rows, "aggregate", "all templates", 1), pick(rows, "aggregate", "all templates", 2)
    steady = steady_speedup(rows, overhead)
    cpu_cost = one["mb_per_cpu_s"] / two["mb_per_cpu_s"] - 1
    return {
        "target": f"near-linear scaling: 2-process / 1-process speedup >= {SCALING_TARGET:g}",
        "measured": f"{two['speedup_vs_1p']:.2f}x end to end, all templates"
        + (f"; {steady:.2f}x without pool start-up (estimate)" if steady else "")
        + f"; CPU per MB {cpu_cost:+.0%} with 2 processes",
        "result": verdict(two["speedup_vs_1p"] >= SCALING_TARGET),
    }


def rss_check(big: dict[str, Any]) -> dict[str, Any]:
    """The memory target on the large build: parent peak + workers x largest worker peak."""
    sampled = big["rss_tree_sampled_mb"]
    return {
        "target": f"peak RSS < {RSS_TARGET_MB:g} MB for a {big['rows']:,}-row build "
        f"({big['name']}, {big['num_proc']} processes)",
        "measured": f"parent {big['rss_parent_mb']:.0f} + {big['num_proc']} x worker "
        f"{big['rss_worker_max_mb']:.0f} = {big['rss_bound_mb']:.0f} MB"
        + (f" (sampled, all at once: {sampled:.0f} MB)" if sampled else "")
        + f"; {big['seconds']:.0f} s wall, {big['mb_per_s']:.1f} MB/s",
        "result": verdict(big["rss_bound_mb"] < RSS_TARGET_MB),
    }


def check_targets(
    rows: list[dict[str, Any]], big: dict[str, Any] | None, overhead: float | None
) -> list[dict[str, Any]]:
    """The issue's three targets, each with the measured figure and PASS/MISS."""
    checks = per_core_checks(rows) + [scaling_check(rows, overhead)]
    return checks + [rss_check(big)] if big else checks


def fmt(value: float | None, spec: str = ".2f") -> str:
    """A number for the table, or a dash."""
    return "-" if value is None else format(value, spec)


def table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    """One table line per template (then the aggregate and reasoning-gym), 1- and 2-process side by side."""
    order = [(r["kind"], r["name"]) for r in rows if r["num_proc"] == 1 and r["kind"] in ("template",)]
    order += [("aggregate", "all templates"), (RG, RG)]
    lines = []
    for kind, name in order:
        one, two = pick(rows, kind, name, 1), pick(rows, kind, name, 2)
        if not one or not two:
            continue
        label = f"**{name}**" if kind != "template" else name
        lines.append(
            [
                label,
                fmt(one["bytes_per_row"], ".0f"),
                fmt(one["samples_per_s"], ",.0f"),
                fmt(one["mb_per_s"]),
                fmt(two["samples_per_s"], ",.0f"),
                fmt(two["mb_per_s"]),
                fmt(two["mb_per_s_per_core"]),
                fmt(two["speedup_vs_1p"]),
                fmt(one["mb_per_cpu_s"]),
                fmt(two["mb_per_cpu_s"]),
                fmt(one["rss_peak_mb"], ".0f"),
                fmt(two["rss_peak_mb"], ".0f"),
                fmt(one["vs_reasoning_gym"]),
                fmt(two["vs_reasoning_gym"]),
            ]
        )
    return lines


HEADER = [
    "config",
    "text B/row",
    "1p samples/s",
    "1p MB/s (= per core)",
    "2p samples/s",
    "2p MB/s",
    "2p MB/s/core",
    "speedup 2p/1p",
    "1p MB/CPU-s",
    "2p MB/CPU-s",
    "1p RSS MB",
    "2p RSS MB (parent+worker)",
    "1p vs rg",
    "2p vs rg",
]


def markdown_table(header: list[str], lines: list[list[str]]) -> str:
    """A plain markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def describe_run(report: dict[str, Any]) -> str:
    """One paragraph: machine, versions, load, sizes and how to read the table."""
    info, settings = report["machine"], report["settings"]
    load = "/".join(f"{x:.1f}" for x in report["load_average_at_start"] + info["load_average_1_5_15min"][:1])
    return (
        f"{info['date']} on {info['cpu_count']} CPUs ({info['cpu_model']}), Python {info['python']}, "
        f"numpy {info['numpy']}, pyarrow {info['pyarrow']}, reasoning-gym {info['reasoning_gym']}; "
        f"load average (1, 5, 15 min at start / 1 min at end) {load}. "
        f"{settings['rows']:,} rows per template and configuration "
        f"({settings['rg_rows']:,} for reasoning-gym: {' + '.join(settings['rg_tasks'])}), "
        f"style `plain`, Parquet + zstd, "
        + (
            f"written as a build's files of {settings['part_rows']:,} rows, each process writing whole files "
            "(`--engine parts`), "
            if settings["engine"] == "parts"
            else "written by `generate` into one file, one writer (`--engine file`), "
        )
        + "each configuration in a fresh process, fastest of "
        f"{settings['repeats']} runs; {report['total_wall_seconds'] / 60:.1f} min in all. "
        "MB = 10^6 bytes of UTF-8 prompt + completion text. MB/s/core = MB/s / processes; "
        "MB/CPU-s = MB per CPU-second of all processes; `vs rg` = our MB/s / reasoning-gym's MB/s "
        "at the same process count; RSS = peak of the parent + peak of the largest worker."
    )


def render_markdown(report: dict[str, Any]) -> str:
    """The results as markdown: the throughput table, the targets and the run's settings."""
    targets = markdown_table(
        ["target", "measured", "result"],
        [[c["target"], c["measured"], c["result"]] for c in report["targets"]],
    )
    overhead = (
        f"Start-up of the second process (2 processes minus 1 process, on a {OVERHEAD_ROWS:,}-row run in two "
        "pieces): "
        f"{fmt(report['spawn_overhead_s'])} s; it is included in every 2-process figure above."
    )
    parts = ["# Generation benchmark", describe_run(report), *load_warning(report)]
    parts.append(markdown_table(HEADER, table_rows(report["rows"])))
    against = baseline_lines(report["rows"])
    if against:
        where = report["settings"]["baseline"]
        parts += [
            f"## Against the baseline\n\nThe same templates with the package in `{where}`, 1 process, "
            "in the same round-robin.",
            markdown_table(BASELINE_HEADER, against),
        ]
    return "\n\n".join([*parts, "## Targets", targets, overhead]) + "\n"


def load_warning(report: dict[str, Any]) -> list[str]:
    """A caution when other work took CPU from the 1-process runs (empty when it did not)."""
    shares = [r["cpu_utilisation"] for r in report["rows"] if r["kind"] in ("template", RG) and r["num_proc"] == 1]
    if not shares or min(shares) >= FAIR_CPU_SHARE:
        return []
    return [
        f"**Caution:** other work was competing for the CPUs: the 1-process runs shown got "
        f"{sum(shares) / len(shares):.0%} of a CPU on average (least {min(shares):.0%}; a quiet machine "
        "gives about 100 %). Wall-clock figures (samples/s, MB/s, speedup) are pessimistic, 2-process "
        "runs most of all; MB/CPU-s is much less affected."
    ]


def machine_info() -> dict[str, Any]:
    """CPU count, interpreter and library versions, and the date."""
    import numpy

    try:
        rg_version = importlib.metadata.version("reasoning-gym")
    except importlib.metadata.PackageNotFoundError:
        rg_version = None
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), model)
    except OSError:
        pass
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pyarrow": pa.__version__,
        "reasoning_gym": rg_version,
        "load_average_1_5_15min": list(os.getloadavg()),
    }


def rounded(value: Any) -> Any:
    """Floats rounded to 4 decimals, recursively (for a readable JSON file)."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def write_results(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """Write generation.json and generation.md; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "generation.json", directory / "generation.md"
    json_path.write_text(json.dumps(rounded(report), indent=2) + "\n")
    md_path.write_text(render_markdown(report))
    return json_path, md_path


def log(message: str) -> None:
    """Progress on stderr (stdout carries the table)."""
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Run every configuration, print the table and targets, and write the results files."""
    args = parse_args(argv)
    if args.child is not None:
        child_main(json.loads(args.child))
        return
    if not args.no_rg:
        require_reasoning_gym()
    names = selected_templates(args.templates)
    started, load_at_start = time.perf_counter(), list(os.getloadavg())
    scratch = Path(tempfile.mkdtemp(prefix="cookbook-bench-"))
    try:
        rows = measure(names, args, scratch)
        big = None if args.no_big else measure_big(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rows += [aggregate(rows, procs) for procs in PROCS]
    if args.baseline:
        rows.append(aggregate(rows, 1, BASELINE))
    add_comparisons(rows)
    overhead = spawn_overhead(rows)
    report = {
        "machine": machine_info(),
        "load_average_at_start": load_at_start,
        "settings": {
            **{k: v for k, v in vars(args).items() if k not in ("child", "results_dir", "baseline")},
            "baseline": str(args.baseline) if args.baseline else None,
            "rg_rows": args.rg_rows,
            "rg_tasks": list(RG_TASKS),
            "procs": list(PROCS),
        },
        "rows": rows,
        "big_build": big,
        "spawn_overhead_s": overhead,
        "targets": check_targets(rows, big, overhead),
        "total_wall_seconds": time.perf_counter() - started,
    }
    json_path, md_path = write_results(report, args.results_dir)
    print(render_markdown(report))
    log(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
