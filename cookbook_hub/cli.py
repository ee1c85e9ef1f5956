"""The `cookbook-hub` command line."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cookbook_hub.cli_common import stdout, user_errors
from cookbook_hub.cli_eval import register as register_eval_commands
from cookbook_hub.cli_publish import register as register_publish_commands
from cookbook_hub.cli_train import register as register_train_command
from cookbook_hub.formatting import STYLES, check_style, format_sample
from cookbook_hub.generate import generate
from cookbook_hub.sampling import Shard
from cookbook_hub.templates import REGISTRY, get_template
from cookbook_hub.token_space import resolve_token_space

app = typer.Typer(
    name="cookbook-hub",
    help="Cookbook templates as versioned Hugging Face datasets: generate, build, publish.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FormatOpt = Annotated[str, typer.Option("--format", "-f", help=f"Text format: {', '.join(STYLES)}.")]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", help="Seed: with the index, fixes every sample.")]
TokenSpaceOpt = Annotated[
    str,
    typer.Option(
        "--token-space",
        help="'default' (embedded), a tokenizer folder, a .gguf file or a .txt token list.",
    ),
]
ParamsOpt = Annotated[
    str | None,
    typer.Option("--params", help="Template parameters as JSON, e.g. '{\"context_max_len\": 64}'."),
]


def parse_params(text: str | None) -> dict | None:
    """Parse the --params JSON object."""
    if text is None:
        return None
    from cookbook_hub.errors import ParameterError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"--params is not valid JSON: {exc.msg}", fix="write it like '{\"min_len\": 4}'") from None
    if not isinstance(value, dict):
        raise ParameterError("--params must be a JSON object", fix="write it like '{\"min_len\": 4}'")
    return value


@app.command("templates")
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


@app.command("show")
@user_errors
def show_cmd(
    template: Annotated[str, typer.Argument(help="Template name (see `cookbook-hub templates`).")],
    n: Annotated[int, typer.Option("-n", help="How many samples.")] = 3,
    seed: SeedOpt = 0,
    style: FormatOpt = "plain",
    token_space: TokenSpaceOpt = "default",
    params: ParamsOpt = None,
) -> None:
    """Print rendered samples of a template.

    Example: cookbook-hub show span_qa -n 2 --format qa --params '{"context_max_len": 64}'
    """
    check_style(style)
    tpl = get_template(template, parse_params(params), resolve_token_space(token_space))
    for sample in tpl.samples(0, n, seed):
        text = format_sample(tpl, sample, style)
        stdout.rule(f"{tpl.name} v{tpl.version} · index {sample.index} · answer: {sample.answer}")
        if "messages" in text:
            for message in text["messages"]:
                stdout.print(f"[bold]<{message['role']}>[/]", markup=True)
                stdout.print(message["content"], markup=False)
        else:
            stdout.print(text["prompt"], end="", markup=False)
            stdout.print(text["completion"], style="bold green", markup=False)


@app.command("generate")
@user_errors
def generate_cmd(
    template: Annotated[str, typer.Argument(help="Template name (see `cookbook-hub templates`).")],
    n: Annotated[int, typer.Option("-n", help="Rows in the whole run (all shards together).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="A .parquet or .jsonl file, or a folder (save_to_disk).")],
    seed: SeedOpt = 0,
    style: FormatOpt = "plain",
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
    check_style(style)
    spec = Shard.parse(shard)
    tpl = get_template(template, parse_params(params), resolve_token_space(token_space))
    result = generate(
        tpl, n, out, seed=seed, style=style, num_proc=num_proc, shard=spec, overwrite=overwrite, progress=not quiet
    )
    rate = result.text_bytes / max(result.seconds, 1e-9) / 1e6
    stdout.print(
        f"wrote {result.rows} rows of {tpl.name} v{tpl.version} to {result.path} "
        f"({result.text_bytes / 1e6:.1f} MB of text, {result.seconds:.1f} s, {rate:.1f} MB/s)"
    )


recipe_app = typer.Typer(help="Inspect and validate mixture recipes.", no_args_is_help=True)
app.add_typer(recipe_app, name="recipe")


@app.command("recipes")
@user_errors
def recipes_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the recipes shipped with the package.

    Example: cookbook-hub recipes --json
    """
    from cookbook_hub.recipe import load_recipe, recipe_names

    recipes = [load_recipe(name) for name in recipe_names()]
    rows = [
        {"name": r.name, "version": r.version, "size": r.size, "templates": r.weights, "content_hash": r.content_hash}
        for r in recipes
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("recipe", "version", "rows", "templates (weight)")
    for row in rows:
        mix = ", ".join(f"{t} {w:.2f}" for t, w in row["templates"].items())
        table.add_row(row["name"], row["version"], f"{row['size']:,}", mix)
    stdout.print(table)


@recipe_app.command("validate")
@user_errors
def recipe_validate_cmd(file: Annotated[Path, typer.Argument(help="A recipe YAML file.")]) -> None:
    """Validate a recipe file: schema, template names and params, token space.

    Example: cookbook-hub recipe validate my-mix.yaml
    """
    from cookbook_hub.recipe import load_recipe

    recipe = load_recipe(file)
    stdout.print(
        f"ok: {recipe.name} {recipe.version}, {len(recipe.templates)} templates, content hash {recipe.content_hash}"
    )


@recipe_app.command("show")
@user_errors
def recipe_show_cmd(name: Annotated[str, typer.Argument(help="A shipped recipe name or a YAML path.")]) -> None:
    """Print a recipe as YAML with its normalised weights and content hash.

    Example: cookbook-hub recipe show gpt4all
    """
    from cookbook_hub.recipe import load_recipe

    recipe = load_recipe(name)
    print(recipe.to_yaml(), end="")
    print(f"# content_hash: {recipe.content_hash}")
    print("# normalised weights: " + ", ".join(f"{t}={w:.4f}" for t, w in recipe.weights.items()))


@app.command("build")
@user_errors
def build_cmd(
    spec: Annotated[str, typer.Argument(help="A recipe name or YAML path, or 'templates' for the template set.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write (laid out as a Hub dataset repo).")],
    n: Annotated[
        int | None, typer.Option("-n", help="Rows: the recipe's size, or per template for 'templates'.")
    ] = None,
    num_proc: Annotated[int, typer.Option("--num-proc", "-p", help="Worker processes.")] = 1,
    repo_id: Annotated[
        str | None, typer.Option("--repo-id", help="Hub id used in the card's load_dataset snippet.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing folder.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Build a recipe or the template set into a Hub-ready dataset folder (Parquet + card).

    Example: cookbook-hub build gpt4all --out data/gpt4all --num-proc 2
    """
    from cookbook_hub.build import build
    from cookbook_hub.cards import write_dataset_card

    result = build(spec, out, n=n, num_proc=num_proc, overwrite=overwrite, progress=not quiet)
    if repo_id:
        write_dataset_card(result.path, repo_id)
    for name, splits in result.configs.items():
        sizes = ", ".join(f"{split} {rows:,}" for split, rows in splits.items())
        stdout.print(f"{name}: {sizes}")
    stdout.print(f"built {result.kind} into {result.path}")


@app.command("card")
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
    from cookbook_hub.cards import write_dataset_card

    stdout.print(f"wrote {write_dataset_card(folder, repo_id)}")


register_publish_commands(app)
register_train_command(app)
register_eval_commands(app)


def main() -> None:
    """Console-script entry point. SIGTERM unwinds like Ctrl-C, so no output is left half-written."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    app()


if __name__ == "__main__":
    main()
