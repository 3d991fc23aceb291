"""The chat UI: a Gradio app over an `Advisor` (`create_app` builds it, `launch` serves it).

Answers stream in as they are written; under each one a sources panel shows, for every `[n]`,
the document, section and file and the exact passage, with the sentences the answer used
highlighted. Every piece of document or user text is HTML-escaped here, before Gradio sees it.
👍/👎 (with an optional comment) are appended to `settings.feedback_path`.

Programmatic use: the endpoint `/ask` takes `question` (str) and `history` (a list of
`[role, text]` pairs or `{"role", "content"}` dicts, may be empty) and returns the JSON of
`advisor ask --json`. It streams: each message is the answer so far, the last one is complete.

    from gradio_client import Client
    client = Client("http://127.0.0.1:7860/")
    answer = client.predict("Do I need coding skills?", [], api_name="/ask")
"""

import contextlib
import html
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import apply_offline_env
from .errors import AdvisorError, ConfigError, InvalidQuestionError
from .feedback import record_feedback
from .types import Answer, Citation

if TYPE_CHECKING:
    import gradio as gr

    from .chain import Advisor

log = logging.getLogger(__name__)

EXAMPLES = [
    "What salary can an AI project manager expect?",
    "Which certifications should I consider?",
    "Do I need coding skills?",
    "What does an AI project manager do?",
]
APOLOGY = "Sorry, something went wrong on our side while answering. Please try again."
THINKING = "_Searching the documents…_"
CSS = """
.sources { margin-top: .75em; font-size: .92em; }
.sources details { border-left: 3px solid var(--color-accent); padding: .2em .7em; margin: .4em 0; }
.sources details:target { background: var(--color-accent-soft); }
.sources summary { cursor: pointer; }
.sources .passage { margin: .4em 0 .2em; opacity: .92; }
.sources mark { background: #fde68a; color: inherit; padding: 0 .1em; }
sup.cite-mark { font-size: .72em; line-height: 0; }
sup.cite-mark a.cite { text-decoration: none; padding: 0 .1em; }
#generator-line { opacity: .75; }
.checklist table { width: 100%; border-collapse: collapse; font-size: .92em; }
.checklist td, .checklist th { border-bottom: 1px solid var(--border-color-primary);
  padding: .3em .4em; vertical-align: top; text-align: left; }
.checklist .met { color: #15803d; font-weight: 600; }
.checklist .partly { color: #b45309; font-weight: 600; }
.checklist .missing { color: #b91c1c; font-weight: 600; }
.checklist blockquote { margin: .2em 0; padding-left: .6em;
  border-left: 3px solid var(--color-accent); }
"""
_MARKER = re.compile(r"\[(\d+)\]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")


def _gradio() -> Any:
    """Gradio, imported on first use (the rest of the advisor does not need it)."""
    apply_offline_env()
    try:
        import gradio
    except ImportError as exc:
        raise ImportError("The chat UI needs Gradio: pip install 'gradio>=6,<7'") from exc
    return gradio


# --- rendering: pure functions from typed values to escaped Markdown/HTML --------------------
def escape(text: str) -> str:
    """Text safe to put in HTML: `<`, `>` and `&` become entities."""
    return html.escape(text, quote=False)


def user_markdown(question: str) -> str:
    """The user's question as Markdown that shows literally (no HTML, no formatting)."""
    return escape(_MD_SPECIAL.sub(r"\\\1", question))


def _answer_text(text: str, anchor: str, known: set[int]) -> str:
    """Escaped answer text whose `[n]` markers are small links to the matching source block
    (one per block of the answer: the sentences and list above it come from that passage)."""
    out: list[str] = []
    for i, piece in enumerate(_MARKER.split(text)):
        if i % 2 and int(piece) in known:
            out.append(
                f'<sup class="cite-mark"><a href="#{anchor}-{piece}" class="cite">[{piece}]</a>'
                "</sup>"
            )
        elif i % 2:
            out.append(f"\\[{piece}\\]")
        else:  # keep the quoted Markdown (lists, emphasis), but no links, images or HTML
            out.append(escape(piece.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")))
    return "".join(out)


def passage_html(citation: Citation) -> str:
    """The cited passage, escaped, with the sentences the answer used in `<mark>`."""
    text, pos, parts = citation.text, 0, []
    for start, end in sorted(citation.used):
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        parts += [escape(text[pos:start]), f"<mark>{escape(text[start:end])}</mark>"]
        pos = end
    parts.append(escape(text[pos:]))
    return "".join(parts).replace("\n", "<br>")  # no blank line may end the HTML block


def sources_html(citations: list[Citation], anchor: str) -> str:
    """The sources panel: one collapsible block per citation, the first one open."""
    blocks = []
    for i, c in enumerate(citations):
        where = escape(c.title) + (f" › {escape(c.section)}" if c.section else "")
        page = f", page {c.page}" if c.page else ""
        blocks.append(
            f'<details id="{anchor}-{c.n}"{" open" if i == 0 else ""}><summary>'
            f"<strong>[{c.n}]</strong> {where} · <code>{escape(c.source)}</code> "
            f"<small>(characters {c.start}–{c.end}{page})</small></summary>"
            f'<div class="passage">{passage_html(c)}</div></details>'
        )
    return '<div class="sources"><strong>Sources</strong>' + "".join(blocks) + "</div>"


def render_answer(answer: Answer, anchor: str) -> str:
    """An answer (complete or streamed so far) as the assistant message."""
    known = {c.n for c in answer.citations}
    body = _answer_text(answer.answer, anchor, known) if answer.answer else THINKING
    if answer.notice:
        body += f"\n\n_{escape(answer.notice)}_"
    if answer.declined:
        body += "\n\nYou could ask, for example:\n" + "\n".join(f"- {q}" for q in EXAMPLES)
    if answer.citations:
        body += "\n\n" + sources_html(answer.citations, anchor)
    return body


def generator_line(generator_name: str) -> str:
    if generator_name == "extractive":
        return (
            "Answers are quoted from the documents (extractive); each passage quoted cites its "
            "source."
        )
    return f"Answers are written by {escape(generator_name)} from the documents, each one cited."


def _message(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def advisor_history(turns: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The conversation as the advisor needs it: raw questions and answer texts, in order."""
    history: list[tuple[str, str]] = []
    for _, turn in sorted(turns.items(), key=lambda item: int(item[0])):
        history += [("user", turn["question"]), ("assistant", turn["answer"])]
    return history


# --- the app ------------------------------------------------------------------------------
def create_app(advisor: "Advisor") -> "gr.Blocks":
    """The chat app. All answering goes through `advisor`; per-user state lives in the session."""
    _gradio()
    import gradio as gr

    settings = advisor.settings
    generator = advisor.generator_name

    def respond(
        message: str,
        history: list[dict[str, Any]],
        turns: dict[str, dict[str, Any]],
        profile: dict[str, Any] | None = None,
    ) -> Iterator[tuple[str, list[dict[str, Any]], dict[str, dict[str, Any]]]]:
        """Stream the answer to `message` into the chat: yields (textbox, chat, turns). After a
        CV check (`profile`, the session's checklist), "what should I learn first?" is answered
        from its missing items."""
        history, turns = list(history or []), dict(turns or {})
        anchor = f"src-{uuid.uuid4().hex[:8]}"
        shown = [
            *history,
            _message("user", user_markdown(message)),
            _message("assistant", THINKING),
        ]
        yield "", shown, turns
        total: Answer | None = None
        try:
            payload = {"question": message, "chat_history": advisor_history(turns)}
            for part in _plan_or_stream(advisor, payload, profile):
                total = part if total is None else total + part
                shown[-1] = _message("assistant", render_answer(total, anchor))
                yield "", shown, turns
        except InvalidQuestionError as exc:  # give the text back to be fixed
            gr.Warning(escape(str(exc)))
            yield message, history, turns
            return
        except AdvisorError as exc:  # index missing, LLM down, ...: say so in the chat
            shown[-1], total = _message("assistant", f"⚠️ {escape(str(exc))}"), None
        except Exception:  # a bug: log it, apologise, keep serving everyone else
            log.exception("Answering %r failed", message[:200])
            shown[-1], total = _message("assistant", APOLOGY), None
        if total is not None:  # remember the answer for follow-ups and feedback
            turns[str(len(shown) - 1)] = {
                "id": anchor,
                "question": total.question or message,
                "answer": total.answer,
                "citations": total.to_json_dict()["citations"],
                "generator": total.generator or generator,
            }
        yield "", shown, turns

    def vote(
        turns: dict[str, dict[str, Any]], evt: gr.LikeData
    ) -> tuple[dict[str, Any] | None, Any]:
        """Record a 👍/👎 on an answer, then offer the comment box."""
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        turn = (turns or {}).get(str(index))
        if turn is None:
            gr.Info("Only answers can be rated.")
            return None, gr.update(visible=False)
        choice = "up" if evt.liked is True else "down" if evt.liked is False else "withdrawn"
        record = save_feedback(turn, choice)
        return record, gr.update(visible=choice != "withdrawn")

    def save_feedback(turn: dict[str, Any], choice: str, comment: str = "") -> dict[str, Any]:
        return record_feedback(
            settings.feedback_path,
            vote=choice,
            question=turn["question"],
            answer=turn["answer"],
            citations=turn["citations"],
            comment=comment,
            generator=turn["generator"],
            id=turn["id"],
        )

    def send_comment(record: dict[str, Any] | None, comment: str) -> tuple[str, Any]:
        """Attach the comment to the last vote (a new record with the same id)."""
        if record and comment.strip():
            save_feedback(record, record["vote"], comment)
            gr.Info("Thank you for the feedback.")
        return "", gr.update(visible=False)

    def pick_example(evt: gr.SelectData) -> str:
        return str(evt.value["text"])

    def ask(question: str, history: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        """The answer so far as `advisor ask --json` JSON; the last message is the whole answer."""
        total: Answer | None = None
        try:
            payload = {"question": question, "chat_history": history or []}
            for part in answer_stream(advisor, payload):
                total = part if total is None else total + part
                yield total.to_json_dict()
        except AdvisorError as exc:
            raise gr.Error(escape(str(exc)), print_exception=False) from None
        except Exception:
            log.exception("API answer to %r failed", str(question)[:200])
            raise gr.Error(APOLOGY, print_exception=False) from None

    with gr.Blocks(title="Career advisor", fill_height=True) as app:
        gr.Markdown("## Career advisor — AI project management")
        gr.Markdown(generator_line(generator), elem_id="generator-line")
        chatbot = gr.Chatbot(
            elem_id="chat",
            label="Chat",
            show_label=False,
            scale=1,
            height=560,
            examples=[{"text": q} for q in EXAMPLES],
            placeholder="**Ask about careers in AI project management.** "
            "Every answer cites the passages it comes from.",
            latex_delimiters=[],
            feedback_options=("Like", "Dislike"),
            buttons=["copy"],
        )
        turns = gr.State({})
        last_vote = gr.State(None)
        with gr.Row():
            box = gr.Textbox(
                placeholder="Type your question and press Enter",
                show_label=False,
                lines=1,
                max_lines=6,
                scale=8,
                autofocus=True,
                elem_id="question",
            )
            send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
            new_chat = gr.Button("New chat", scale=1, elem_id="new-chat")
        with gr.Row(visible=False) as comment_row:
            comment = gr.Textbox(
                label="Thanks! Anything to add? (optional: what was wrong or missing)", scale=8
            )
            send_comment_btn = gr.Button("Send comment", scale=1)

        # the session's CV checklist: in this session's memory only, never stored anywhere else
        profile = gr.State(None, time_to_live=settings.profile_ttl_s)
        refresh_documents, document_outputs = documents_panel(advisor, gr)
        cv_result, cv_file, cv_text = cv_panel(advisor, gr, profile)
        chat_io = dict(inputs=[box, chatbot, turns, profile], outputs=[box, chatbot, turns])
        gr.on([box.submit, send.click], respond, **chat_io, api_visibility="private")
        chatbot.example_select(pick_example, None, box, api_visibility="private").then(
            respond, **chat_io, api_visibility="private"
        )
        chatbot.like(vote, [turns], [last_vote, comment_row], api_visibility="private")
        gr.on(
            [comment.submit, send_comment_btn.click],
            send_comment,
            [last_vote, comment],
            [comment, comment_row],
            api_visibility="private",
        )

        def start_over() -> tuple[Any, ...]:
            """A new conversation; the CV and its checklist are forgotten too."""
            return [], {}, None, "", gr.update(visible=False), None, "", None, ""

        reset = [chatbot, turns, last_vote, box, comment_row, profile, cv_result, cv_file]
        reset.append(cv_text)
        new_chat.click(start_over, None, reset, api_visibility="private")
        chatbot.clear(start_over, None, reset, api_visibility="private")
        gr.api(ask, api_name="ask")
        app.load(refresh_documents, None, document_outputs, api_visibility="private")
    # the handlers stay reachable (tests, embedding apps): app.respond(message, history, turns)
    for handler in (respond, vote, send_comment, ask):
        setattr(app, handler.__name__, handler)
    return app


# --- your documents and the CV check ------------------------------------------------------
DOC_HEADERS = ["Title", "Format", "Chunks", "Added", "Problems", "Source"]
NEXT_STEPS_SHOWN = 6


def _plan_or_stream(advisor: "Advisor", payload: dict[str, Any], profile: Any) -> Iterator[Answer]:
    """The session's CV checklist answers questions about the user's own next steps; every
    other question goes to the advisor."""
    from .profile import Checklist, asks_about_own_plan, plan_answer

    if profile and asks_about_own_plan(payload["question"]):
        checklist = Checklist.model_validate(profile)
        yield plan_answer(payload["question"], checklist)
        return
    yield from answer_stream(advisor, payload)


def answer_stream(advisor: "Advisor", payload: dict[str, Any]) -> Iterator[Answer]:
    """`advisor.stream(payload)`, answered again from the new index generation when an upload
    switched generations under it (the old one's collections are dropped at the switch)."""
    for attempt in range(2):
        seen = advisor.store.current_name()
        started = False
        try:
            for part in advisor.stream(payload):
                started = True
                yield part
            return
        except AdvisorError:
            raise
        except Exception:
            if started or attempt or advisor.store.current_name() == seen:
                raise
            log.info("The index changed while answering; answering again from the new one")


def _require_login(advisor: "Advisor", request: Any) -> None:
    """With ADVISOR_UI_AUTH set, only a logged-in user may change the documents."""
    import gradio as gr

    if advisor.settings.ui_auth and not getattr(request, "username", None):
        raise gr.Error("Please log in to add or remove documents.", print_exception=False)


def document_table(advisor: "Advisor") -> tuple[list[list[Any]], list[tuple[str, str]]]:
    """The documents in the index (rows for the table) and the removable ones (for the menu)."""
    from .uploads import document_rows

    gen = advisor.store.current()
    rows = document_rows(gen.manifest if gen else {})
    table = [[r.title, r.format, r.chunks, r.added, r.problems, r.source] for r in rows]
    return table, [(f"{r.title} ({r.source})", r.source) for r in rows if r.removable]


def _drop_upload(path: str) -> None:
    """Gradio's own temporary copy of an upload goes once it has been read."""
    with contextlib.suppress(OSError):
        Path(path).unlink(missing_ok=True)


def add_documents(
    advisor: "Advisor", files: list[str] | None, progress: Any, request: Any = None
) -> str:
    """Check, store and index uploaded files; a Markdown report of what happened to each."""
    from .uploads import DocumentShelf

    _require_login(advisor, request)
    shelf = DocumentShelf(advisor.settings)
    lines: list[str] = []
    stored = []
    for path in files or []:
        shown = getattr(path, "orig_name", None) or Path(path).name
        try:
            stored.append(shelf.add(Path(path), shown))
        except AdvisorError as exc:
            lines.append(f"- **{escape(Path(shown).name)}** was not added: {escape(str(exc))}.")
        finally:
            _drop_upload(str(path))
    if not stored:
        return "\n".join(lines) or "No file was given."
    lines += _reindex(advisor, progress, {s.source: s.name for s in stored})
    return "\n".join(lines)


def _reindex(advisor: "Advisor", progress: Any, new: dict[str, str]) -> list[str]:
    """Bring the index in line with the folders, with progress; files it cannot read go."""
    from .uploads import DocumentShelf

    def update(stage: str, done: int, total: int) -> None:
        progress(done / max(total, 1), desc=f"{stage.capitalize()} {done}/{total}")

    progress(0.0, desc="Reading the documents")
    shelf = DocumentShelf(advisor.settings)
    try:
        report = advisor.index(progress=update)
    except AdvisorError as exc:
        return [f"- The index was not updated: {escape(str(exc))}"]
    except Exception:  # a bug: the new files go, or every later build would fail on them too
        log.exception("Indexing the documents added in the page failed")
        for name in new.values():
            shelf.discard(name)
        names = ", ".join(f"**{escape(n)}**" for n in new.values())
        return [f"- The index was not updated ({APOLOGY}) {names} could not be added."]
    failed = {p.source: p.reason for p in report.problems if p.skipped and p.source in new}
    lines = []
    for source, name in new.items():
        if source in failed:
            shelf.discard(name)
            lines.append(f"- **{escape(name)}** could not be read: {escape(failed[source])}.")
    if failed:  # take the unreadable files out of the index's view of the folder as well
        advisor.index()
    progress(1.0, desc="Preparing search")
    advisor.searcher.view()  # the next question is answered from the new documents at once
    gen = advisor.store.current()
    for source, name in new.items():
        entry = (gen.manifest if gen else {}).get(source)
        if entry and source not in failed:
            notes = (
                f" Note: {escape('; '.join(entry.get('notes', [])))}" if entry.get("notes") else ""
            )
            lines.append(
                f"- **{escape(name)}** added: {_passages(entry.get('chunks', 0))}, "
                f"ready to be asked about.{notes}"
            )
    lines.append(f"\nIndexed in {report.seconds:.1f} s.")
    return lines


def _passages(n: int) -> str:
    return f"{n} passage" + ("" if n == 1 else "s")


def remove_document(
    advisor: "Advisor", source: str | None, progress: Any, request: Any = None
) -> str:
    from .uploads import DocumentShelf

    _require_login(advisor, request)
    if not source:
        return "Choose one of your documents first."
    try:
        name = DocumentShelf(advisor.settings).remove(source)
    except AdvisorError as exc:
        return escape(str(exc))
    lines = _reindex(advisor, progress, {})
    problems = [line for line in lines if "not updated" in line or "could not be read" in line]
    return f"**{escape(name)}** removed; it is no longer used in answers.\n" + "\n".join(problems)


def readable_formats() -> str:
    """ "PDF, MD, TXT, ...": what the loaders read (DOCX appears once it has a loader)."""
    from .load import LOADERS

    kinds = sorted({k.lstrip(".").upper() for k in LOADERS} - {"MARKDOWN", "HTM"})
    return ", ".join(kinds[:-1]) + " or " + kinds[-1] if len(kinds) > 1 else "".join(kinds)


def documents_panel(advisor: "Advisor", gr: Any) -> tuple[Any, list[Any]]:
    """The "Your documents" panel: add files, see every document in the index, remove yours.
    Returns the function that fills the list and its outputs (for the page's load event)."""

    def listing() -> tuple[Any, Any]:
        table, removable = document_table(advisor)
        return gr.update(value=table), gr.update(choices=removable, value=None)

    def on_add(
        files: list[str] | None,
        request: gr.Request,
        progress: Any = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        report = add_documents(advisor, files, progress, request)
        return (report, None, *listing())

    def on_remove(
        source: str | None,
        request: gr.Request,
        progress: Any = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        report = remove_document(advisor, source, progress, request)
        return (report, *listing())

    limits = (
        f"{readable_formats()}, up to {advisor.settings.upload_max_mb:g} MB each and "
        f"{advisor.settings.upload_max_files} in all. They are indexed with the advisor's own "
        "documents and answered from at once."
    )
    with gr.Accordion("Your documents", open=False, elem_id="documents"):
        gr.Markdown(limits)
        files = gr.File(
            label="Add documents", file_count="multiple", type="filepath", elem_id="doc-upload"
        )
        status = gr.Markdown(elem_id="doc-status")
        table = gr.Dataframe(
            headers=DOC_HEADERS,
            interactive=False,
            wrap=True,
            column_widths=["28%", "9%", "9%", "16%", "16%", "22%"],
            elem_id="doc-table",
            label="Documents in the index",
        )
        with gr.Row():
            choice = gr.Dropdown(
                label="One of your documents", choices=[], scale=4, elem_id="doc-choice"
            )
            remove = gr.Button("Remove", variant="stop", scale=1, elem_id="doc-remove")
    busy = dict(concurrency_limit=1, concurrency_id="documents")
    files.upload(on_add, [files], [status, files, table, choice], api_name="add_documents", **busy)
    remove.click(on_remove, [choice], [status, table, choice], api_name="remove_document", **busy)

    def documents() -> list[dict[str, Any]]:
        """The documents in the index, for API clients: one dict per document."""
        table, _ = document_table(advisor)
        return [dict(zip([h.lower() for h in DOC_HEADERS], row, strict=True)) for row in table]

    gr.api(documents, api_name="documents")
    return listing, [table, choice]


def checklist_html(checklist: Any) -> str:
    """The checklist as an escaped HTML table, then the next steps; every item cites the guide."""
    counts = checklist.counts()
    head = (
        f"<p><strong>{counts['met']}</strong> met, <strong>{counts['partly']}</strong> partly, "
        f"<strong>{counts['missing']}</strong> missing of {len(checklist.items)} items the guide "
        "asks for. Your CV stays in this session only; <em>New chat</em> forgets it.</p>"
    )
    rows = []
    for item in checklist.items:
        c = item.citation
        evidence = "—"
        if item.evidence:
            e = item.evidence
            where = f"line {e.line}" + (f", page {e.page}" if e.page else "")
            evidence = f"<blockquote>{escape(e.text)}</blockquote><small>{where}</small>"
        guide = (
            f"<details><summary>[{c.n}] {escape(c.section)}</summary>"
            f"<div class='passage'>{escape(c.text)}</div>"
            f"<small><code>{escape(c.source)}</code> characters {c.start}–{c.end}</small></details>"
        )
        rows.append(
            f"<tr><td class='{item.status}'>{item.status}</td><td>{escape(item.item)}</td>"
            f"<td>{escape(item.group)}</td><td>{evidence}</td><td>{guide}</td></tr>"
        )
    table = (
        "<table><thead><tr><th>Status</th><th>Item</th><th>Group</th><th>In your CV</th>"
        "<th>The guide</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )
    shown = checklist.next_steps[:NEXT_STEPS_SHOWN]
    steps = "".join(
        f"<li><strong>{escape(s.item)}</strong> ({escape(s.group)}): "
        f"<q>{escape(s.citation.text)}</q> [{s.citation.n}]</li>"
        for s in shown
    )
    more = len(checklist.next_steps) - len(shown)
    rest = f"<p>…and {more} more, marked <em>missing</em> below.</p>" if more > 0 else ""
    nexts = f"<h4>Next steps, in the guide's order</h4><ol>{steps}</ol>{rest}" if steps else ""
    return f"<div class='checklist' id='checklist'>{head}{nexts}{table}</div>"


def check_cv_upload(checker: Any, cv_path: str | None, pasted: str) -> Any:
    """The checklist for an uploaded or pasted CV. The upload's temporary copy is deleted as
    soon as it is read: the CV is kept only in the session."""
    from .errors import UploadError

    if cv_path:
        try:
            raw = Path(cv_path).read_bytes()
        except OSError as exc:
            raise UploadError(f"The CV could not be read ({exc.strerror or exc}).") from None
        finally:
            _drop_upload(cv_path)
        return checker.check_bytes(raw, Path(cv_path).name)
    if pasted and pasted.strip():
        return checker.check_text(pasted)
    raise UploadError("Upload your CV (PDF, DOCX, text or Markdown) or paste its text first.")


def cv_panel(advisor: "Advisor", gr: Any, profile: Any) -> tuple[Any, Any, Any]:
    """The "Check my CV" panel; the checklist goes into the session's `profile` state."""
    from .profile import Checklist, CvChecker

    checker = CvChecker(advisor.settings, advisor.embedder)

    def on_check(cv_path: str | None, pasted: str) -> tuple[Any, ...]:
        try:
            checklist = check_cv_upload(checker, cv_path, pasted)
        except AdvisorError as exc:
            return f"<p><strong>The CV was not checked:</strong> {escape(str(exc))}</p>", None, None
        except Exception:  # a bug: no CV text in the log, only that it failed
            log.error("The CV check failed", exc_info=False)
            return APOLOGY, None, None
        return checklist_html(checklist), checklist.model_dump(), None

    with gr.Accordion("Check my CV", open=False, elem_id="cv-check"):
        gr.Markdown(
            "See what the guide asks of an AI project manager that your CV already shows, "
            "with your own sentences as evidence. Then ask in the chat, for example "
            "*What should I learn first?* Your CV is not stored: it stays in this page's session."
        )
        with gr.Row():
            cv_file = gr.File(label="Your CV", type="filepath", elem_id="cv-upload", scale=1)
            cv_text = gr.Textbox(
                label="…or paste it", lines=6, max_lines=20, elem_id="cv-text", scale=2
            )
        check = gr.Button("Check my CV", variant="primary", elem_id="cv-run")
        result = gr.HTML(elem_id="cv-result")
    check.click(on_check, [cv_file, cv_text], [result, profile, cv_file], api_visibility="private")
    _ = Checklist  # the state holds Checklist.model_dump()
    return result, cv_file, cv_text


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`"user:password"` as Gradio's auth pair (None when no login is set)."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise ConfigError("ADVISOR_UI_AUTH must look like user:password.")
    return user, password


def launch(advisor: "Advisor") -> None:
    """Load the models, then serve the chat UI on `settings.ui_host:ui_port` (never shared)."""
    settings = advisor.settings
    auth = parse_auth(settings.ui_auth)
    advisor.warm_up()
    app = create_app(advisor)
    app.queue(default_concurrency_limit=settings.ui_concurrency, max_size=settings.ui_max_queue)
    app.launch(
        server_name=settings.ui_host,
        server_port=settings.ui_port,
        share=False,
        auth=auth,
        show_error=False,
        css=CSS,
        footer_links=["api"],
        # Gradio refuses a larger upload while it streams in, before it fills the disk
        max_file_size=int(settings.upload_max_mb * 1e6),
    )
