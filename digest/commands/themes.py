"""`digest themes evaluate`: how well the configured keywords file a labelled set."""

from __future__ import annotations

import json
from pathlib import Path

import click

from digest.commands import config_option, settings_from_context
from digest.theme_eval import Evaluation, as_dict, evaluations, read_labelled


@click.group()
def themes() -> None:
    """Inspect and measure the theme classifier."""


@themes.command("evaluate")
@config_option
@click.argument("labelled", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--misses/--no-misses", default=True, help="List the items filed wrongly.")
def evaluate(labelled: Path, as_json: bool, misses: bool) -> None:
    """Classify a labelled set (JSON Lines) and report accuracy, and precision and recall
    per theme, for the whole set, each split and each language.

    Each line holds `title`, `lead`, `language`, `expected` (a theme id, or "none" for an
    item no theme should take) and optionally `id` and `split`. Run it after changing the
    keywords, names or context of [[themes]] in config.toml.

    \b
    Example:
      digest themes evaluate bench/data/themes.jsonl
    """
    settings = settings_from_context()
    items = read_labelled(labelled, [t.id for t in settings.themes])
    found = evaluations(items, settings.themes)
    if as_json:
        click.echo(json.dumps([as_dict(e) for e in found], ensure_ascii=False, indent=2))
        return
    for evaluation in found:
        click.echo(_table(evaluation))
    if misses and found[0].misses:
        click.echo("misses (expected -> got):")
        for miss in found[0].misses:
            item = miss.item
            click.echo(
                f"  {item.id} [{item.language}{', ' + item.split if item.split else ''}] "
                f"{item.expected} -> {miss.got}: {item.title}"
            )


def _table(evaluation: Evaluation) -> str:
    lines = [
        f"{evaluation.name}: {evaluation.correct}/{evaluation.total} right "
        f"({evaluation.accuracy * 100:.1f} %)",
        "",
        "| theme | precision | recall | items |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {s.theme_id} | {s.precision:.2f} | {s.recall:.2f} | {s.support} |"
        for s in evaluation.themes
    ]
    return "\n".join([*lines, ""])
