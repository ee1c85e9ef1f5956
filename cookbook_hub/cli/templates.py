"""The `templates`, `show` and `generate` commands: the template library and raw generation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cookbook_hub.cli.options import (
    AnswerCueOpt,
    FormatOpt,
    InstructionOpt,
    ParamsOpt,
    SeedOpt,
    TokenSpaceOpt,
    stdout,
    template_from_options,
    user_errors,
)
from cookbook_hub.generation.formatting import Style, format_sample
from cookbook_hub.generation.generate import generate
from cookbook_hub.recipes.limits import check_rows
from cookbook_hub.templates import REGISTRY
from cookbook_hub.tokens.sampling import Shard


@user_errors
def templates_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the registered templates: name, version, family, target task and rule.

    Example: cookbook-hub templates --json
    """
    rows = [cls.describe() for cls in REGISTRY.values()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("template", "v", "family", "target", "rule")
    for row in rows:
        table.add_row(row["name"], str(row["version"]), row["family"], row["target"], row["rule"])
    stdout.print(table)


@user_errors
def show_cmd(
    template: Annotated[str, typer.Argument(help="Template name (see `cookbook-hub templates`).")],
    n: Annotated[int, typer.Option("-n", help="How many samples.")] = 3,
    seed: SeedOpt = 0,
    style: FormatOpt = "plain",
    instruction: InstructionOpt = None,
    answer_cue: AnswerCueOpt = None,
    token_space: TokenSpaceOpt = "default",
    params: ParamsOpt = None,
) -> None:
    """Print rendered samples of a template.

    Example: cookbook-hub show span_qa -n 2 --format qa --params '{"context_max_len": 64}'
    """
    check_rows(n, "-n")
    rendered = Style(style, instruction, answer_cue)
    tpl = template_from_options(template, params, token_space)
    for sample in tpl.samples(0, n, seed):
        text = format_sample(tpl, sample, rendered)
        stdout.rule(f"{tpl.name} v{tpl.version} · index {sample.index} · answer: {sample.answer}")
        if "messages" in text:
            for message in text["messages"]:
                stdout.print(f"[bold]<{message['role']}>[/]", markup=True)
                stdout.print(message["content"], markup=False)
        else:
            stdout.print(text["prompt"], end="", markup=False)
            stdout.print(text["completion"], style="bold green", markup=False)


@user_errors
def generate_cmd(
    template: Annotated[str, typer.Argument(help="Template name (see `cookbook-hub templates`).")],
    n: Annotated[int, typer.Option("-n", help="Rows in the whole run (all shards together).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="A .parquet or .jsonl file, or a folder (save_to_disk).")],
    seed: SeedOpt = 0,
    style: FormatOpt = "plain",
    instruction: InstructionOpt = None,
    answer_cue: AnswerCueOpt = None,
    token_space: TokenSpaceOpt = "default",
    params: ParamsOpt = None,
    num_proc: Annotated[int, typer.Option("--num-proc", "-p", help="Worker processes.")] = 1,
    shard: Annotated[
        str, typer.Option("--shard", help="K/N: write only the K-th (0-based) of N disjoint shards of the run.")
    ] = "0/1",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Generate N rows of a template into Parquet, JSON Lines or a save_to_disk folder.

    Example: cookbook-hub generate span_qa -n 100000 --num-proc 2 --out span_qa.parquet
    Sharded over 4 machines: cookbook-hub generate span_qa -n 1000000 --shard 2/4 --out part-2.parquet
    """
    check_rows(n, "-n")
    rendered = Style(style, instruction, answer_cue)
    spec = Shard.parse(shard)
    tpl = template_from_options(template, params, token_space)
    result = generate(
        tpl, n, out, seed=seed, style=rendered, num_proc=num_proc, shard=spec, overwrite=overwrite, progress=not quiet
    )
    rate = result.text_bytes / max(result.seconds, 1e-9) / 1e6
    stdout.print(
        f"wrote {result.rows} rows of {tpl.name} v{tpl.version} to {result.path} "
        f"({result.text_bytes / 1e6:.1f} MB of text, {result.seconds:.1f} s, {rate:.1f} MB/s)"
    )


def register(app: typer.Typer) -> None:
    """Add the `templates`, `show` and `generate` commands to the main app."""
    app.command("templates")(templates_cmd)
    app.command("show")(show_cmd)
    app.command("generate")(generate_cmd)
