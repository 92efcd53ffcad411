"""``kehu text ...``: check the message-category and sentiment models on your own messages."""

import enum
import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Text models: message categories (ticket routing) and sentiment.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

#: Exit code for input a person has to fix (bad file, column, encoding, labels).
BAD_INPUT = 2


class TaskName(enum.StrEnum):
    """What to evaluate."""

    category = "category"
    sentiment = "sentiment"


@app.callback()
def text() -> None:
    """Check the text models on your own labelled messages."""


def _clean(value: Any) -> Any:
    """Make figures JSON-safe (no NaN/inf)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def _print(result: dict[str, Any]) -> None:
    table = Table("figure", "value", title=f"{result['task']} model ({result['model']})")
    table.add_row("method", result["method"])
    table.add_row("training messages", f"{result['n_train']:,} ({result['n_classes']} labels)")
    table.add_row("test messages", f"{result['n_test']:,}")
    if result["n_test_unseen_labels"]:
        table.add_row(
            "test messages with a label unseen in training", f"{result['n_test_unseen_labels']:,}"
        )
    table.add_row("accuracy", _percent(result["accuracy"]))
    table.add_row("macro-F1", _percent(result["macro_f1"]))
    if "triage_share" in result:
        table.add_row(
            f"sent to triage (confidence < {result['threshold']:g})",
            _percent(result["triage_share"]),
        )
        table.add_row("accuracy of the rest", _percent(result["accuracy_untriaged"]))
    rate = result["messages_per_second"]
    table.add_row("messages per second (predict)", "n/a" if rate is None else f"{rate:,.0f}")
    table.add_row("training time", f"{result['fit_seconds']:.1f} s")
    console.print(table)


@app.command("evaluate")
def evaluate(
    task: Annotated[TaskName, typer.Option(help="Which model: category or sentiment")],
    train: Annotated[Path, typer.Option(help="CSV or JSONL with text and label: trains the model")],
    test: Annotated[Path, typer.Option(help="CSV or JSONL with text and label: scores it")],
    threshold: Annotated[
        float | None,
        typer.Option(help="Confidence below which a message goes to triage (category only)"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else")
    ] = False,
) -> None:
    """Train on one labelled file, score on another: accuracy, macro-F1, triage, speed."""
    from kehu.core import KehuError
    from kehu.text.evaluation import evaluate_text_model, read_labelled_texts

    try:
        train_data = read_labelled_texts(train)
        test_data = read_labelled_texts(test)
        if not as_json:
            err_console.print(
                f"Training the {task.value} model on {len(train_data.texts):,} messages..."
            )
        result = evaluate_text_model(task.value, train_data, test_data, threshold=threshold)
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(BAD_INPUT) from None
    cleaned = _clean(result)
    if as_json:
        typer.echo(json.dumps(cleaned, allow_nan=False, ensure_ascii=False))
    else:
        _print(cleaned)
