"""The `advisor` command: index, show, ask, chat, ui, serve, profile, eval, judge, feedback.

User-facing errors (`AdvisorError`) become one red line and exit code 1; under pytest
(`ADVISOR_DEBUG=1`) they are re-raised so tests see the real exception.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from .config import Settings, apply_offline_env
from .errors import AdvisorError

app = typer.Typer(
    name="advisor",
    help="Career advisor: answers career questions from a curated corpus, with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
feedback_app = typer.Typer(
    help="Work with the feedback users gave in the chat UI.", no_args_is_help=True
)
app.add_typer(feedback_app, name="feedback")

console = Console()
err = Console(stderr=True)
T = TypeVar("T")


@contextmanager
def user_errors() -> Iterator[None]:
    """Print an `AdvisorError` as one line and exit 1 (re-raise when ADVISOR_DEBUG is set)."""
    try:
        yield
    except AdvisorError as exc:
        if os.environ.get("ADVISOR_DEBUG"):
            raise
        err.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("Interrupted.")
        raise typer.Exit(130) from None


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment, with the command-line options that were given."""
    from pydantic import ValidationError

    from .errors import ConfigError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"Invalid setting: {problems}") from None


def progress_bar() -> tuple[Any, Callable[[str, int, int], None]]:
    """A rich progress bar and the callback that drives it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return bar, update


def run_index(advisor: Any, rebuild: bool = False, quiet: bool = False) -> None:
    """Build or update the index with a progress bar, then print the summary."""
    bar, update = progress_bar()
    with bar:
        report = advisor.index(rebuild=rebuild, progress=update)
    if not quiet:
        for f in report.files:
            unit = "slides" if f.format == "PowerPoint" else "pages"
            pages = f", {f.pages} {unit}" if f.pages else ""
            console.print(
                f"  {f.source}: {f.format or 'file'}{pages}, {f.chunks} chunks ({f.status})",
                highlight=False,
            )
    for problem in report.problems:
        label = "Skipped" if problem.skipped else "Note"
        err.print(f"[yellow]{label}[/] {problem.source}: {problem.reason}", highlight=False)
    if quiet and not report.wrote and not report.problems:
        return
    # an index update before an answer goes to stderr: stdout is the answer (`ask --json`)
    (err if quiet else console).print(
        f"Indexed {report.documents} documents: {report.added} chunks added, "
        f"{report.removed} removed, {report.unchanged} unchanged "
        f"({report.seconds:.1f} s)" + ("" if report.wrote else "; nothing to write"),
        highlight=False,
    )


@app.command()
def index(
    corpus: Annotated[Path | None, typer.Option(help="Folder of documents to index.")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start the index over.")] = False,
) -> None:
    """Build or update the search index (incremental: only changed documents are embedded)."""
    with user_errors():
        from .chain import Advisor

        run_index(Advisor(settings_with(corpus_dir=corpus)), rebuild=rebuild)


@app.command()
def show(
    doc_id: Annotated[str, typer.Argument(help="A document id (file name without extension).")],
    start: Annotated[int | None, typer.Option(help="Print from this character offset.")] = None,
    end: Annotated[int | None, typer.Option(help="Print up to this character offset.")] = None,
) -> None:
    """Print a document's text as the advisor loaded it: what citations' offsets index."""
    with user_errors():
        from .load import show_document

        text = show_document(settings_with(), doc_id)
        sys.stdout.write(text[start:end] if start is not None or end is not None else text)


def _prepare(settings: Settings) -> Any:
    """An Advisor whose index is current (built or updated first if needed)."""
    from .chain import Advisor

    advisor = Advisor(settings)
    run_index(advisor, quiet=True)
    return advisor


def print_answer(answer: Any) -> None:
    from rich.markdown import Markdown

    console.print(Markdown(answer.answer))
    if answer.notice:
        console.print(f"[yellow]{answer.notice}[/]", highlight=False)
    for c in answer.citations:
        where = f"{c.title}" + (f" > {c.section}" if c.section else "")
        console.print(f"[dim][{c.n}] {where} ({c.source}:{c.start}-{c.end})[/]", highlight=False)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Answer one question, with citations."""
    with user_errors():
        advisor = _prepare(settings_with())
        answer = advisor.invoke({"question": question, "chat_history": []})
        if as_json:
            data = answer.to_json_dict() | answer.outcome()
            sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            print_answer(answer)


@app.command()
def chat() -> None:
    """Talk to the advisor in the terminal (follow-up questions keep their context)."""
    with user_errors():
        from .errors import InvalidQuestionError

        advisor = _prepare(settings_with())
        console.print(
            f"Career advisor ({advisor.generator_name}). Ask a question; an empty line or "
            "Ctrl-D quits.",
            highlight=False,
        )
        history: list[tuple[str, str]] = []
        while True:
            try:
                question = console.input("[bold]you>[/] ")
            except EOFError:
                break
            if not question.strip():
                break
            try:
                answer = advisor.invoke({"question": question, "chat_history": history})
            except InvalidQuestionError as exc:
                err.print(f"[red]{exc}[/]")
                continue
            print_answer(answer)
            history += [("user", question), ("assistant", answer.answer)]


@app.command()
def ui(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
) -> None:
    """Start the chat UI in the browser (builds the index first when needed)."""
    with user_errors():
        from .ui import launch

        settings = settings_with(ui_host=host, ui_port=port)
        launch(_prepare(settings))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Serve the HTTP API: /ask, /ask/stream (SSE), the OpenAI chat API under /v1, docs at
    /docs (builds the index first when needed)."""
    with user_errors():
        from .serve import serve as run_server

        settings = settings_with(serve_host=host, serve_port=port)
        if settings.serve_host not in ("127.0.0.1", "localhost", "::1") and not settings.ui_auth:
            err.print(
                f"[yellow]Note[/] {settings.serve_host} is reachable from other machines and no "
                "login is set: anyone who can reach it can ask. Set ADVISOR_UI_AUTH=user:password "
                "to require one.",
                highlight=False,
            )
        advisor = _prepare(settings)
        err.print(
            f"Serving the advisor on http://{settings.serve_host}:{settings.serve_port} "
            "(API docs at /docs); Ctrl-C stops it.",
            highlight=False,
        )
        run_server(advisor)


@app.command("eval")
def eval_command(
    dataset: Annotated[Path | None, typer.Option(help="JSONL eval cases.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for results.json and report.html.")
    ] = None,
    minimum: Annotated[
        list[str] | None,
        typer.Option("--min", help="METRIC=VALUE: exit non-zero when the metric is lower."),
    ] = None,
    maximum: Annotated[
        list[str] | None,
        typer.Option("--max", help="METRIC=VALUE: exit non-zero when the metric is higher."),
    ] = None,
) -> None:
    """Run eval cases through the advisor and score retrieval, answers, grounding and focus."""
    with user_errors():
        from .evaluate import run_eval_command

        advisor = _prepare(settings_with())
        raise typer.Exit(run_eval_command(advisor, dataset, out, minimum or [], maximum or []))


@app.command()
def judge(
    cases: Annotated[
        Path, typer.Option(help="JSONL labelled cases {id, answer, contexts, grounded}.")
    ],
    out: Annotated[Path | None, typer.Option(help="Folder for judge.json.")] = None,
    llm_judge: Annotated[
        bool, typer.Option("--llm-judge", help="Judge with the chat model of ADVISOR_LLM.")
    ] = False,
) -> None:
    """Score the grounding judge itself on labelled answers."""
    with user_errors():
        from .evaluate import run_judge_command

        raise typer.Exit(run_judge_command(settings_with(), cases, out, llm_judge=llm_judge))


@app.command()
def profile(
    cv_file: Annotated[Path, typer.Argument(help="Your CV: PDF, DOCX, text or Markdown.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check a CV against what the guide asks of an AI project manager (nothing is stored)."""
    with user_errors():
        from .profile import check_cv

        checklist = check_cv(cv_file, settings_with())
        if as_json:
            sys.stdout.write(json.dumps(checklist.to_json_dict(), ensure_ascii=False) + "\n")
        else:
            print_checklist(checklist)


def print_checklist(checklist: Any) -> None:
    """One line per item (status, item, group, the CV's sentence with its line), then the next
    steps, each with the guide passage it cites."""
    from rich.markup import escape

    marks = {
        "met": "[green]met    [/]",
        "partly": "[yellow]partly [/]",
        "missing": "[red]missing[/]",
    }
    for item in checklist.items:
        line = f"{marks[item.status]} {escape(item.item)} [dim]({escape(item.group)})[/]"
        if item.evidence:
            line += f"\n        [dim]line {item.evidence.line}:[/] {escape(item.evidence.text)}"
        console.print(line, highlight=False)
    counts = checklist.counts()
    console.print(
        f"\n{counts['met']} met, {counts['partly']} partly, {counts['missing']} missing.",
        highlight=False,
    )
    if checklist.next_steps:
        console.print("[bold]Next steps, in the guide's order:[/]")
        for n, step in enumerate(checklist.next_steps, start=1):
            c = step.citation
            console.print(
                f'{n}. {escape(step.item)}: "{escape(c.text)}" '
                f"[dim]({c.source}:{c.start}-{c.end})[/]",
                highlight=False,
            )


@feedback_app.command("export")
def feedback_export(
    out: Annotated[Path, typer.Option(help="JSONL file of eval cases to write.")],
) -> None:
    """Turn thumbs-down answers into eval cases, so bad answers become regression tests."""
    with user_errors():
        from .feedback import export_eval_cases

        count = export_eval_cases(settings_with(), out)
        console.print(f"Wrote {count} eval case(s) to {out}", highlight=False)


def main() -> None:
    apply_offline_env()
    app()


if __name__ == "__main__":
    main()
