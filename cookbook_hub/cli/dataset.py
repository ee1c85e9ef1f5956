"""The `build` and `card` commands: Hub-ready dataset folders and their cards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cookbook_hub.cli.options import parse_json_object, stdout, user_errors
from cookbook_hub.dataset.parts import MAX_SHARD_ROWS
from cookbook_hub.errors import ParameterError

ENGINES = ("local", "ray")


@user_errors
def build_cmd(
    spec: Annotated[
        str, typer.Argument(help="A recipe (NAME, NAME@VERSION or a YAML path), or 'templates' for the template set.")
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write (laid out as a Hub dataset repo); with --engine ray, also a URL (s3://B/P).",
        ),
    ],
    n: Annotated[
        int | None, typer.Option("-n", help="Rows: the recipe's size, or per template for 'templates'.")
    ] = None,
    num_proc: Annotated[
        int,
        typer.Option(
            "--num-proc",
            "-p",
            help="Processes writing parts at once, this one included (with --engine ray and no address: Ray CPUs).",
        ),
    ] = 1,
    repo_id: Annotated[
        str | None, typer.Option("--repo-id", help="Hub id <namespace>/<name> used in the card's load_dataset snippet.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing folder.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    shard: Annotated[
        str | None,
        typer.Option("--shard", help="K/N: job K (0-based) of N writes its share of the files into OUT.parts."),
    ] = None,
    assemble_: Annotated[
        bool,
        typer.Option("--assemble", help="Check the files all --shard jobs wrote, then write OUT with card + manifest."),
    ] = False,
    engine: Annotated[
        str, typer.Option("--engine", help="local (this machine), or ray (one Ray task per Parquet file).")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="Ray cluster HOST:PORT, or 'auto' on a node of a running cluster."),
    ] = None,
    shard_rows: Annotated[
        int, typer.Option("--shard-rows", help="Most rows per Parquet file (the unit of --shard and Ray tasks).")
    ] = MAX_SHARD_ROWS,
    storage_options: Annotated[
        str | None,
        typer.Option(
            "--storage-options",
            help='For a URL --out: fsspec options as JSON, e.g. \'{"endpoint_url": "http://HOST:9000"}\'.',
        ),
    ] = None,
) -> None:
    """Build a recipe or the template set into a Hub-ready dataset folder (Parquet + card).

    Example: cookbook-hub build gpt4all --out data/gpt4all --num-proc 2
    On a Ray cluster: cookbook-hub build gpt4all --engine ray --ray-address auto --out /shared/gpt4all
    (or --out s3://bucket/datasets/gpt4all: each node uploads its files; credentials as for s3fs)
    Slurm array: cookbook-hub build gpt4all --shard $SLURM_ARRAY_TASK_ID/8 --out /shared/gpt4all, then
    cookbook-hub build gpt4all --assemble --out /shared/gpt4all
    """
    from cookbook_hub.card.dataset_card import write_dataset_card
    from cookbook_hub.hub.targets import check_repo_id
    from cookbook_hub.recipes.limits import check_rows

    check_build_options(engine, shard, assemble_, ray_address)
    if n is not None:
        check_rows(n, "-n")
    if repo_id is not None:
        check_repo_id(repo_id)
    common = {"n": n, "max_shard_rows": shard_rows, "overwrite": overwrite}
    options = parse_json_object(storage_options, "--storage-options", '{"endpoint_url": "http://HOST:9000"}')
    if options is not None and engine != "ray":
        raise ParameterError("--storage-options needs --engine ray and a URL --out", fix="drop it, or add --engine ray")
    finish = lambda folder, **where: write_dataset_card(folder, repo_id, **where)  # noqa: E731
    if shard is not None:
        from cookbook_hub.dataset.assemble import build_shard
        from cookbook_hub.tokens.sampling import Shard

        job = Shard.parse(shard)
        staged = build_shard(spec, out, job, num_proc=num_proc, progress=not quiet, **common)
        wrote = f"wrote {len(staged.files)} files, {staged.rows:,} rows into {staged.parts}"
        stdout.print(f"shard {job.index}/{job.count}: {wrote}")
        return
    if assemble_:
        from cookbook_hub.dataset.assemble import assemble

        result = assemble(spec, out, finish=finish, **common)
    elif engine == "ray":
        from cookbook_hub.dataset.ray_engine import build_ray

        workers = num_proc if ray_address is None else None
        result = build_ray(
            spec,
            out,
            address=ray_address,
            workers=workers,
            progress=not quiet,
            finish=finish,
            storage_options=options,
            **common,
        )
    else:
        from cookbook_hub.dataset.builder import build

        result = build(spec, out, num_proc=num_proc, progress=not quiet, finish=finish, **common)
    for name, splits in result.configs.items():
        sizes = ", ".join(f"{split} {rows:,}" for split, rows in splits.items())
        stdout.print(f"{name}: {sizes}")
    stdout.print(f"built {result.kind} into {result.path}")


def check_build_options(engine: str, shard: str | None, assemble_: bool, ray_address: str | None) -> None:
    """Refuse combinations of build options that mean nothing together."""
    fix = "see `cookbook-hub build --help`"
    if engine not in ENGINES:
        raise ParameterError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}", fix=fix)
    if shard is not None and assemble_:
        raise ParameterError("--shard and --assemble are separate steps", fix="run the --shard jobs, then --assemble")
    if engine == "ray" and (shard is not None or assemble_):
        raise ParameterError("--engine ray runs every shard and assembles by itself", fix="drop --shard/--assemble")
    if ray_address is not None and engine != "ray":
        raise ParameterError("--ray-address needs --engine ray", fix="add --engine ray")


@user_errors
def card_cmd(
    folder: Annotated[Path, typer.Argument(help="A folder written by `cookbook-hub build`.")],
    repo_id: Annotated[
        str | None, typer.Option("--repo-id", help="Hub id used in the card's load_dataset snippet.")
    ] = None,
) -> None:
    """Re-render a built dataset's README.md card (and its charts) from its manifest and files.

    Example: cookbook-hub card data/gpt4all --repo-id my-org/cookbook-gpt4all
    """
    from cookbook_hub.card.dataset_card import write_dataset_card
    from cookbook_hub.hub.targets import check_repo_id

    if repo_id is not None:
        check_repo_id(repo_id)
    stdout.print(f"wrote {write_dataset_card(folder, repo_id)}")


def register(app: typer.Typer) -> None:
    """Add the `build` and `card` commands to the main app."""
    app.command("build")(build_cmd)
    app.command("card")(card_cmd)
