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

import html
import logging
import re
import uuid
from collections.abc import Iterator
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
        message: str, history: list[dict[str, Any]], turns: dict[str, dict[str, Any]]
    ) -> Iterator[tuple[str, list[dict[str, Any]], dict[str, dict[str, Any]]]]:
        """Stream the answer to `message` into the chat: yields (textbox, chat, turns)."""
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
            for part in advisor.stream(payload):
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
            for part in advisor.stream({"question": question, "chat_history": history or []}):
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

        chat_io = dict(inputs=[box, chatbot, turns], outputs=[box, chatbot, turns])
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

        def start_over() -> tuple[list[Any], dict[str, Any], None, str, Any]:
            return [], {}, None, "", gr.update(visible=False)

        reset = [chatbot, turns, last_vote, box, comment_row]
        new_chat.click(start_over, None, reset, api_visibility="private")
        chatbot.clear(start_over, None, reset, api_visibility="private")
        gr.api(ask, api_name="ask")
    # the handlers stay reachable (tests, embedding apps): app.respond(message, history, turns)
    for handler in (respond, vote, send_comment, ask):
        setattr(app, handler.__name__, handler)
    return app


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
    )
