"""`advisor serve`: the advisor as an HTTP API other apps call (FastAPI on uvicorn).

- `POST /ask`: one answer, the JSON of `advisor ask --json`; a bad question is a 422 whose
  `detail` is the message written for the user.
- `POST /ask/stream`: the same answer as Server-Sent Events: `chunk` events (new text, new
  citations) as they are produced, then one `end` event holding the whole answer.
- `POST /v1/chat/completions` (plain and `stream: true`) and `GET /v1/models`: the OpenAI chat
  API, so any OpenAI client or chat front end uses the advisor as a model. The last user
  message is the question, earlier turns are the history; the reply's text keeps the `[n]`
  markers and ends with its sources, and the response carries them as `citations`.
- `/docs`: the OpenAPI documentation.

It binds to loopback unless told otherwise. With `ADVISOR_UI_AUTH=user:password` every route
(the docs too) needs that login, as HTTP basic auth or as the bearer token `user:password`
(what an OpenAI client sends as its API key). At most `serve_concurrency` questions are
answered at once; the others wait for a turn.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .chain import ChatTurn
from .errors import AdvisorError, InvalidQuestionError
from .types import Answer, Citation

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .chain import Advisor

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side while answering. Please try again."
SOURCES_HEADING = "Sources:"


# --- request and response models (they are the OpenAPI schema at /docs) ---------------------
class AskRequest(BaseModel):
    """A question and, optionally, the conversation so far."""

    question: str = Field(description="The user's question.")
    chat_history: list[ChatTurn | tuple[str, str]] = Field(
        default_factory=list,
        description="Earlier turns, oldest first: {role, content} objects or [role, text] pairs.",
    )


class CitationOut(BaseModel):
    """One numbered source: `text` is exactly the characters `start:end` of `source`."""

    n: int
    doc_id: str
    title: str
    section: str
    source: str
    start: int
    end: int
    text: str
    page: int | None = None


class AskResponse(BaseModel):
    """The answer, as `advisor ask --json` prints it."""

    question: str
    answer: str = Field(description="The answer, every sentence with its [n] marker.")
    declined: bool = Field(description="True when the documents hold no answer.")
    citations: list[CitationOut]


class Problem(BaseModel):
    detail: str = Field(description="What went wrong, written for the user.")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    """The OpenAI chat request; sampling options (temperature, max_tokens, ...) are accepted
    and ignored: answers are quoted from the documents."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="Any name; the reply names the advisor's model id.")
    messages: list[ChatMessage]
    stream: bool = False


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatChoiceMessage
    finish_reason: str = "stop"


class ChatCompletion(BaseModel):
    """The OpenAI chat completion, plus `citations` (the sources of the [n] markers) and
    `declined`."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: dict[str, int]
    citations: list[CitationOut]
    declined: bool


# --- answers as JSON, SSE and chat messages --------------------------------------------------
def _citations(citations: list[Citation]) -> list[dict[str, Any]]:
    return [c.model_dump(exclude={"used"}) for c in citations]


def sources_text(citations: list[Citation]) -> str:
    """The sources of an answer as lines a chat front end shows under it."""
    if not citations:
        return ""
    lines = []
    for c in citations:
        where = c.title + (f" > {c.section}" if c.section else "")
        page = f", page {c.page}" if c.page else ""
        lines.append(f"[{c.n}] {where} ({c.source}{page})")
    return f"\n\n{SOURCES_HEADING}\n" + "\n".join(lines)


def sse(event: str, data: Any) -> str:
    """One Server-Sent Event (`data` as one line of JSON)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _text(content: str | list[dict[str, Any]] | None) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


def chat_payload(messages: list[ChatMessage]) -> dict[str, Any]:
    """The advisor's input from OpenAI messages: the last user message is the question,
    earlier user and assistant turns the history (system and tool messages are not the
    user's words; the sources list the API appended to an answer is dropped again)."""
    if not messages or messages[-1].role != "user":
        raise InvalidQuestionError("The last message must be the user's question.")
    history = []
    for m in messages[:-1]:
        if m.role in ("user", "assistant"):
            text = _text(m.content)
            if m.role == "assistant":
                text = text.split(f"\n\n{SOURCES_HEADING}\n", 1)[0]
            history.append({"role": m.role, "content": text})
    return {"question": _text(messages[-1].content), "chat_history": history}


# --- authentication --------------------------------------------------------------------------
class LoginRequired:
    """ASGI middleware: every request needs `user:password`, as basic auth or bearer token."""

    def __init__(self, app: Any, user: str, password: str) -> None:
        self.app = app
        self.expected = f"{user}:{password}".encode()

    def _allowed(self, header: bytes) -> bool:
        scheme, _, value = header.partition(b" ")
        if scheme.lower() == b"basic":
            try:
                given = base64.b64decode(value.strip(), validate=True)
            except (binascii.Error, ValueError):
                return False
        elif scheme.lower() == b"bearer":
            given = value.strip()
        else:
            return False
        return secrets.compare_digest(given, self.expected)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        if self._allowed(header):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": "Log in: this API needs a user name and password."})
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Basic realm="advisor"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})


# --- the app ---------------------------------------------------------------------------------
def create_app(advisor: Advisor) -> FastAPI:
    """The FastAPI app around one `Advisor` (its models and index are shared by all requests)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    from .ui import parse_auth

    settings = advisor.settings
    slots = threading.BoundedSemaphore(settings.serve_concurrency)
    model_id = settings.serve_model
    app = FastAPI(
        title="Career advisor",
        version="1",
        description="Answers career questions from a curated set of documents; every sentence "
        "cites the passage it comes from.",
    )

    @app.exception_handler(InvalidQuestionError)
    async def bad_question(request: Request, exc: InvalidQuestionError) -> JSONResponse:
        if request.url.path.startswith("/v1/"):
            return _openai_error(str(exc), 400, "invalid_request_error")
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(AdvisorError)
    async def not_ready(request: Request, exc: AdvisorError) -> JSONResponse:
        if request.url.path.startswith("/v1/"):
            return _openai_error(str(exc), 503, "server_error")
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("Answering failed")
        if request.url.path.startswith("/v1/"):
            return _openai_error(APOLOGY, 500, "server_error")
        return JSONResponse({"detail": APOLOGY}, status_code=500)

    def answer(payload: dict[str, Any]) -> Answer:
        advisor.check(payload)  # a bad question is refused before waiting for a turn
        with slots:
            return advisor.invoke(payload)

    def parts(payload: dict[str, Any]) -> Iterator[Answer]:
        """The answer's chunks, after the question and the index are known to be fine (so
        those errors are a 4xx/503 response, not an event in a stream already under way)."""
        advisor.check(payload)
        advisor.searcher.view()

        def run() -> Iterator[Answer]:
            with slots:  # taken when the stream starts, given back however it ends
                yield from advisor.stream(payload)

        return run()

    errors: dict[int | str, dict[str, Any]] = {422: {"model": Problem}, 503: {"model": Problem}}

    @app.post("/ask", response_model=AskResponse, responses=errors)  # type: ignore[misc]
    def ask(request: AskRequest) -> dict[str, Any]:
        """Answer one question (the JSON of `advisor ask --json`)."""
        return answer(_payload(request)).to_json_dict()

    @app.post(  # type: ignore[misc]
        "/ask/stream",
        response_class=StreamingResponse,
        response_model=None,
        responses={200: {"content": {"text/event-stream": {}}}, **errors},
    )
    def ask_stream(request: AskRequest) -> Any:
        """Answer one question as Server-Sent Events: `chunk` events (`answer`: new text,
        `citations`: new sources) as the answer is produced, then one `end` event with the
        whole answer (the JSON of `/ask`); `error` (`detail`) if it fails on the way."""
        chunks = parts(_payload(request))

        def events() -> Iterator[str]:
            total: Answer | None = None
            try:
                for part in chunks:
                    total = part if total is None else total + part
                    if part.answer or part.citations:
                        data = {"answer": part.answer, "citations": _citations(part.citations)}
                        yield sse("chunk", data)
            except AdvisorError as exc:
                yield sse("error", {"detail": str(exc)})
                return
            except Exception:
                log.exception("Streaming an answer failed")
                yield sse("error", {"detail": APOLOGY})
                return
            yield sse("end", (total or Answer()).to_json_dict())

        return StreamingResponse(events(), media_type="text/event-stream", headers=_NO_BUFFER)

    @app.get("/v1/models")  # type: ignore[misc]
    def models() -> dict[str, Any]:
        """The one model this API answers as (OpenAI's model list)."""
        return {"object": "list", "data": [_model_card(model_id)]}

    @app.post(  # type: ignore[misc]
        "/v1/chat/completions",
        response_model=ChatCompletion,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    def chat_completions(request: ChatCompletionRequest) -> Any:
        """OpenAI-compatible chat: the last user message is the question. The reply's text
        has [n] markers and ends with its sources; `citations` lists them in full."""
        payload = chat_payload(request.messages)
        if not request.stream:
            got = answer(payload)
            return ChatCompletion(
                id=f"chatcmpl-{uuid.uuid4().hex}",
                created=int(time.time()),
                model=model_id,
                choices=[
                    ChatChoice(
                        message=ChatChoiceMessage(content=got.answer + sources_text(got.citations))
                    )
                ],
                usage={"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                citations=[CitationOut(**c) for c in _citations(got.citations)],
                declined=got.declined,
            )
        chunks = parts(payload)
        return StreamingResponse(
            _chat_chunks(chunks, model_id), media_type="text/event-stream", headers=_NO_BUFFER
        )

    login = parse_auth(settings.ui_auth)
    if login is not None:
        app.add_middleware(LoginRequired, user=login[0], password=login[1])
    return app


_NO_BUFFER = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _payload(request: AskRequest) -> dict[str, Any]:
    history = [t.model_dump() if isinstance(t, ChatTurn) else t for t in request.chat_history]
    return {"question": request.question, "chat_history": history}


def _model_card(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "career-advisor"}


def _openai_error(message: str, status: int, kind: str) -> Any:
    from fastapi.responses import JSONResponse

    error = {"message": message, "type": kind, "param": None, "code": None}
    return JSONResponse({"error": error}, status_code=status)


def _chat_chunks(chunks: Iterator[Answer], model_id: str) -> Iterator[str]:
    """OpenAI `chat.completion.chunk` events: the role, the text as it comes, the sources,
    then a last chunk with `finish_reason` and the `citations`, and `[DONE]`."""
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model_id,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    total: Answer | None = None
    try:
        for part in chunks:
            total = part if total is None else total + part
            if part.answer:
                yield chunk({"content": part.answer})
    except Exception as exc:
        message = str(exc) if isinstance(exc, AdvisorError) else APOLOGY
        if not isinstance(exc, AdvisorError):
            log.exception("Streaming a chat answer failed")
        error = {"message": message, "type": "server_error", "param": None, "code": None}
        yield f"data: {json.dumps({'error': error}, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"
        return
    total = total or Answer()
    if total.citations:
        yield chunk({"content": sources_text(total.citations)})
    yield chunk({}, "stop", citations=_citations(total.citations), declined=total.declined)
    yield "data: [DONE]\n\n"


def serve(advisor: Advisor, host: str | None = None, port: int | None = None) -> None:
    """Load the models, then serve the API on `host:port` (settings: loopback, 8000)."""
    import uvicorn

    settings = advisor.settings
    advisor.warm_up()
    uvicorn.run(
        create_app(advisor),
        host=host or settings.serve_host,
        port=port or settings.serve_port,
        log_level="warning",
    )
