"""The `eval` and `align` commands: lm-eval evaluation of a model or adapter, and template alignment on real tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cookbook_hub.align.mapping import templates_help
from cookbook_hub.cli.options import AnswerCueOpt, InstructionOpt, quiet_libraries, stdout, user_errors
from cookbook_hub.errors import CookbookError
from cookbook_hub.generation.formatting import STYLES, Style

ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Base model: a folder, a .gguf file or a Hub id (default: offline SmolLM2)."),
]
AdapterOpt = Annotated[
    str | None,
    typer.Option("--adapter", "-a", help="LoRA adapter: a folder, a local hub repo (hub/ns/name) or hf://ns/name."),
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, help="Evaluate only the first N examples of each task.")
]
BatchOpt = Annotated[
    str, typer.Option("--batch-size", "-b", help="auto or an integer (auto on CPU: 1 when all tasks generate, else 8).")
]
PublishOpt = Annotated[
    str | None,
    typer.Option("--publish", help="Publish the adapter folder with the results: hub/ns/name or hf://ns/name."),
]


StyleOpt = Annotated[
    str | None,
    typer.Option(
        "--style", help=f"Prompt style of real tasks: {', '.join(STYLES)} (default: the adapter's training style)."
    ),
]


def eval_style(
    style: str | None, instruction: bool | None, answer_cue: bool | None = None, chat_template: bool = False
) -> Style | None:
    """The style asked for on the command line (None: let the evaluator choose)."""
    if chat_template:
        style = style or "chat"
    if style is None:
        for flag, value in (("--instruction/--no-instruction", instruction), ("--answer-cue", answer_cue)):
            if value is not None:
                raise CookbookError(f"{flag} needs --style", fix="pass --style too")
        return None
    return Style(style, instruction, answer_cue)


def eval_cmd(
    model: ModelOpt = None,
    adapter: AdapterOpt = None,
    tasks: Annotated[
        str | None,
        typer.Option("--tasks", "-t", help="Required: gpt4all, templates, task names, .jsonl files (comma-separated)."),
    ] = None,
    limit: LimitOpt = None,
    num_fewshot: Annotated[
        int | None, typer.Option("--num-fewshot", help="Few-shot examples per prompt (default: each task's own).")
    ] = None,
    gen_kwargs: Annotated[
        str | None,
        typer.Option("--gen-kwargs", help="Generation arguments in lm_eval's syntax: temperature=0,max_gen_toks=32."),
    ] = None,
    log_samples: Annotated[
        bool,
        typer.Option("--log-samples", help="Save every example's inputs, outputs and scores under OUT/samples/."),
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Local copies of GPT4ALL task data: DIR/<task>/<split>.parquet.")
    ] = None,
    batch_size: BatchOpt = "auto",
    max_batch_size: Annotated[int, typer.Option("--max-batch-size", help="Upper bound for auto on GPU.")] = 64,
    style: StyleOpt = None,
    instruction: InstructionOpt = None,
    answer_cue: AnswerCueOpt = None,
    chat_template: Annotated[
        bool, typer.Option("--chat-template", help="The same as --style chat (kept for older scripts).")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write results JSON and table here.")] = None,
    publish: PublishOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show lm-eval's log.")] = False,
) -> None:
    """Evaluate a model, or a LoRA adapter next to its base model, with lm-eval.

    Real-task prompts take the style the adapter was trained with (recorded in its folder); for a base model
    alone --style chooses (default: chat for a model with a chat template, else qa).

    With --adapter the results, the Hub's .eval_results files and the re-rendered card are written into
    the adapter folder; --publish then uploads it in one commit.

    Example: cookbook-hub eval --adapter adapters/gpt4all --tasks templates,data/extractive_qa_ropes.jsonl --limit 50
    Offline GPT4ALL: cookbook-hub eval --tasks gpt4all --data-dir data/gpt4all --limit 100
    """
    from cookbook_hub.eval.results import comparison_table, record, results_document, save_results
    from cookbook_hub.eval.runner import evaluate, save_samples, tasks_fix

    check_publish(publish, adapter)
    if tasks is None:
        raise CookbookError("--tasks is required", fix=tasks_fix())
    if log_samples and out is None:
        raise CookbookError("--log-samples needs --out", fix="pass --out DIR: the samples go to DIR/samples/")
    quiet_libraries(verbose)
    evaluation = evaluate(
        model,
        adapter,
        tasks,
        limit=limit,
        data_dir=data_dir,
        batch_size=batch_size,
        max_batch_size=max_batch_size,
        style=eval_style(style, instruction, answer_cue, chat_template),
        log_samples=log_samples,
        num_fewshot=num_fewshot,
        gen_kwargs=gen_kwargs,
    )
    document = results_document(evaluation)
    print(comparison_table(document), end="")
    if out is not None:
        path = save_results(document, out)
        (out / "results.md").write_text(comparison_table(document), encoding="utf-8")
        stdout.print(f"wrote {path} and {out / 'results.md'}", markup=False)
    if log_samples and out is not None:
        stdout.print(f"wrote {len(save_samples(evaluation, out))} samples files in {out / 'samples'}", markup=False)
    if evaluation.adapter_dir is None:
        return
    recorded = record(document, evaluation.adapter_dir)
    stdout.print(f"wrote {recorded.results} and {len(recorded.eval_results)} .eval_results files", markup=False)
    render_card(evaluation.adapter_dir)
    if publish:
        publish_adapter(evaluation.adapter_dir, publish, "Add evaluation results")


def render_card(folder: Path) -> None:
    """Re-render the adapter's card with what was just recorded in it, and say so; an adapter not trained by
    `cookbook-hub train` keeps its card (we cannot render one without its training records)."""
    from cookbook_hub.card.model_card import write_model_card
    from cookbook_hub.folders import AdapterFolder

    if AdapterFolder(folder).trained_here:
        stdout.print(f"updated the card {write_model_card(folder)}", markup=False)
    else:
        stdout.print(
            f"card not updated: the adapter was not trained by `cookbook-hub train` (no {AdapterFolder.TRAINING_ARGS})",
            markup=False,
        )


def publish_adapter(folder: Path, to: str, message: str) -> None:
    """Publish the adapter folder with what was recorded in it, in one commit."""
    from cookbook_hub.hub.publish import publish

    result = publish(folder, to, message=message)
    state = f"commit {result.commit}" if result.created_commit else f"no changes at {result.commit}"
    stdout.print(f"published to {result.target}: {state}", markup=False)


def check_publish(publish: str | None, adapter: str | None) -> None:
    """Refuse --publish without --adapter, and a malformed target, before any model is loaded."""
    from cookbook_hub.hub.targets import parse_target

    if publish and not adapter:
        raise CookbookError("--publish needs --adapter", fix="pass the adapter whose results to publish")
    if publish:
        parse_target(publish)


def align_cmd(
    task: Annotated[Path, typer.Option("--task", help="A real-task .jsonl file (see docs/evaluation.md).")],
    template: Annotated[
        str, typer.Option("--template", help=f"A template that reads real examples: {templates_help()}.")
    ],
    model: ModelOpt = None,
    adapter: AdapterOpt = None,
    limit: LimitOpt = None,
    batch_size: BatchOpt = "auto",
    params: Annotated[
        str | None, typer.Option("--params", help="Template parameters as JSON, e.g. '{\"answer_len\": 2}'.")
    ] = None,
    style: StyleOpt = None,
    instruction: InstructionOpt = None,
    answer_cue: AnswerCueOpt = None,
    rule_only: Annotated[
        bool,
        typer.Option(
            "--rule-only", help="Score the rule alone on the labelled examples (accuracy, answer shares); no model."
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write alignment.json, .png and .md here.")] = None,
    publish: PublishOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show lm-eval's log.")] = False,
) -> None:
    """Score a template's rule on a real task and how closely the model (and adapter) follow it.

    With --adapter the report is also recorded in the adapter folder (alignment/TASK.TEMPLATE/) and shown
    in its re-rendered card; --publish then uploads the folder in one commit. With --rule-only no model is
    loaded: the report is the rule's accuracy on the labelled examples and its answer distribution.

    Example: cookbook-hub align --task data/extractive_qa_ropes.jsonl --template span_qa --adapter adapters/doc-qa
    --limit 100 --out align/ropes
    Rule only: cookbook-hub align --task data/choice_physical_intuition.jsonl --template two_way_choice --rule-only
    """
    from cookbook_hub.align.report import markdown_table, record_alignment, rule_only_markdown, write_report
    from cookbook_hub.align.run import align, align_rule_only
    from cookbook_hub.cli.options import parse_params

    if rule_only:
        given = [flag for flag, value in (("--model", model), ("--adapter", adapter), ("--publish", publish)) if value]
        if given:
            raise CookbookError(
                f"--rule-only loads no model, so {', '.join(given)} cannot be used with it",
                fix=f"drop {', '.join(given)}, or drop --rule-only to score a model's alignment",
            )
        report = align_rule_only(task, template, limit=limit, params=parse_params(params))
        print(rule_only_markdown(report), end="")
        if out is not None:
            paths = write_report(report, out)
            stdout.print("wrote " + ", ".join(str(p) for p in paths.values()), markup=False)
        return
    check_publish(publish, adapter)
    quiet_libraries(verbose)
    result = align(
        task,
        template,
        model,
        adapter,
        limit=limit,
        batch_size=batch_size,
        params=parse_params(params),
        style=eval_style(style, instruction, answer_cue),
    )
    print(markdown_table(result.report), end="")
    if out is not None:
        paths = write_report(result.report, out)
        stdout.print("wrote " + ", ".join(str(p) for p in paths.values()), markup=False)
    if result.adapter_dir is None:
        return
    folder = record_alignment(result.report, result.adapter_dir)
    stdout.print(f"wrote {result.adapter_dir / folder}", markup=False)
    render_card(result.adapter_dir)
    if publish:
        publish_adapter(result.adapter_dir, publish, "Add template alignment report")


def register(app: typer.Typer) -> None:
    """Add the `eval` and `align` commands to the main app."""
    app.command("eval")(user_errors(eval_cmd))
    app.command("align")(user_errors(align_cmd))
