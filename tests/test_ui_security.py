"""Security of the served chat UI, on a real server started by `advisor.ui.launch` itself.

- No path a user sends makes the server hand out a file that is not one of its own assets:
  /etc/passwd, the corpus, the Chroma database and the feedback log, asked for through every
  file route with absolute, relative, `..` and URL-encoded paths, all get a 4xx and none of
  the file's bytes. Each request goes out twice: byte for byte (`http.client`, so `..` reaches
  the server) and through httpx (which removes `..` segments, as browsers do).
- The server listens on loopback only by default.
- An over-long question gets a readable error, not a traceback, and the server keeps answering.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from advisor import Advisor, Settings
from advisor.feedback import record_feedback

from .conftest import free_port
from .test_ui import CORPUS, SALARY

pytestmark = [pytest.mark.server, pytest.mark.slow]

GUIDE = CORPUS / "ai-project-manager-guide.md"
SECRET_QUESTION = "feedback-secret-7d1c: what do other users ask?"
LONG_QUESTION = ("How do I become an AI project manager without any coding skills? " * 200)[:10_000]


@dataclass
class Served:
    app: Any
    launch_kwargs: dict[str, Any]
    port: int
    settings: Settings
    sqlite: Path  # the Chroma database the app answers from

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def served(advisor: Advisor, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app as `advisor ui` serves it: `advisor.ui.launch` with default host, queue and
    error settings; only `prevent_thread_lock` (so the test can go on) and `quiet` are added."""
    import gradio as gr

    from advisor import ui

    fields = advisor.settings.model_dump() | {
        "index_dir": tmp_path_factory.mktemp("ui-security-index"),  # feedback.jsonl goes here
        "ui_port": free_port(),
        "ui_auth": None,
    }
    del fields["ui_host"]  # the default, unless the environment says otherwise
    seen: dict[str, Any] = {}
    real_launch = gr.Blocks.launch

    def launch(self: Any, **kwargs: Any) -> Any:
        seen.update(kwargs=kwargs, app=self)
        return real_launch(self, **kwargs, prevent_thread_lock=True, quiet=True)

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ADVISOR_UI_HOST", raising=False)
        settings = Settings(**fields)
        mp.setattr(gr.Blocks, "launch", launch)
        ui.launch(Advisor(settings, embedder=advisor.embedder, store=advisor.store))
    record_feedback(
        settings.feedback_path, vote="down", question=SECRET_QUESTION, answer="-", citations=[]
    )
    sqlite = advisor.settings.chroma_path / "chroma.sqlite3"
    assert sqlite.is_file() and settings.feedback_path.is_file()
    try:
        yield Served(seen["app"], seen["kwargs"], settings.ui_port, settings, sqlite)
    finally:
        seen["app"].close()


# --- (a) no file outside the app's own assets -------------------------------------------
def traversal_paths(target: Path) -> list[str]:
    """Ways to name `target` (an absolute path) in a URL path: plain, `..`, encoded."""
    absolute = str(target)
    up = "../" * 12 + absolute.lstrip("/")
    return [
        absolute,
        quote(absolute, safe=""),  # %2Fetc%2Fpasswd
        quote(quote(absolute, safe=""), safe=""),  # double-encoded
        "/" + absolute,  # //etc/passwd
        absolute.replace("/", "/./"),
        "file://" + absolute,
        up,  # ../../../etc/passwd
        quote(up, safe=""),  # ..%2F..%2F..
        up.replace("..", "%2e%2e"),
        up.replace("..", "%2e%2e").replace("/", "%2f"),
        quote(quote(up, safe=""), safe=""),  # %252e%252e%252f
        up.replace("../", "..%5c"),  # backslashes
        up.replace("../", "....//"),  # a filter that strips "../" once
    ]


FILE_ROUTES = ["/gradio_api/file=", "/file=", "/gradio_api/file/"]
ASSET_ROUTES = ["/assets/", "/static/", "/gradio_api/static/", "/svelte/"]


def probe_requests(served: Served) -> list[tuple[str, bytes]]:
    """(raw URL path, bytes that must never come back) for every protected file."""
    secrets = {
        Path("/etc/passwd"): b"root:",
        GUIDE: GUIDE.read_bytes()[:120],
        served.sqlite: b"SQLite format 3",
        served.settings.feedback_path: SECRET_QUESTION.encode(),
    }
    probes = []
    for target, secret in secrets.items():
        for route in FILE_ROUTES:
            probes += [(route + path, secret) for path in traversal_paths(target)]
    # the same files relative to the server's working folder (the checkout, for `advisor ui`)
    cwd = Path.cwd()
    for target in (GUIDE, served.sqlite):
        if target.is_relative_to(cwd):
            relative = str(target.relative_to(cwd))
            probes += [(route + relative, secrets[target]) for route in FILE_ROUTES]
    # the asset routes serve Gradio's own front end: `..` must not climb out of it
    for route in ASSET_ROUTES:
        for path in traversal_paths(Path("/etc/passwd"))[6:]:  # the relative ones
            probes.append((route + path, b"root:"))
    return probes


def raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written (no normalisation of `..` or of %-escapes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_probe_targets_exist(served: Served) -> None:
    """The files asked for are really there (else a 404 would prove nothing)."""
    assert Path("/etc/passwd").read_bytes().startswith(b"root:")
    assert GUIDE.is_file() and served.sqlite.read_bytes().startswith(b"SQLite format 3")
    assert SECRET_QUESTION in served.settings.feedback_path.read_text(encoding="utf-8")


def test_no_file_outside_the_assets_is_served(served: Served) -> None:
    leaks, not_refused = [], []
    with httpx.Client(base_url=served.url, timeout=30, follow_redirects=False) as client:
        for path, secret in probe_requests(served):
            raw_status, raw_body = raw_get(served.port, path)
            response = client.get(path)
            for how, status, body in (
                ("raw", raw_status, raw_body),
                ("httpx", response.status_code, response.content),
            ):
                if secret in body:
                    leaks.append(f"{how} GET {path} -> {status}")
                elif not 400 <= status < 500:
                    not_refused.append(f"{how} GET {path} -> {status}")
    assert leaks == []
    assert not_refused == []


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=/etc/passwd",
        "/file=/etc/passwd",
        "/gradio_api/file=../../../../etc/passwd",
        "/gradio_api/file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/gradio_api/file=%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/gradio_api/file=%2Fetc%2Fpasswd",
    ],
)
def test_etc_passwd_is_refused(served: Served, path: str) -> None:
    """The cases named in the brief, one by one, so a failure names its request."""
    status, body = raw_get(served.port, path)
    assert 400 <= status < 500, f"GET {path} -> {status}"
    assert b"root:" not in body


@pytest.mark.parametrize("what", ["guide", "sqlite", "feedback"])
def test_project_files_are_refused(served: Served, what: str) -> None:
    target, secret = {
        "guide": (GUIDE, GUIDE.read_bytes()[:120]),
        "sqlite": (served.sqlite, b"SQLite format 3"),
        "feedback": (served.settings.feedback_path, SECRET_QUESTION.encode()),
    }[what]
    for route in ("/gradio_api/file=", "/file="):
        status, body = raw_get(served.port, route + str(target))
        assert 400 <= status < 500, f"GET {route}{target} -> {status}"
        assert secret not in body


def test_the_own_assets_are_still_served(served: Served) -> None:
    """Control: the refusals above are not because the server serves no files at all."""
    page = httpx.get(served.url + "/", timeout=30)
    assert page.status_code == 200 and "Career advisor" in page.text
    assets = sorted(
        {part.split('"')[0] for part in page.text.split('src="')[1:] if "/assets/" in part}
    )
    assert assets, "the page links no /assets/ file"
    asset = assets[0][assets[0].index("/assets/") :]
    assert httpx.get(served.url + asset, timeout=30).status_code == 200


# --- (b) loopback only ------------------------------------------------------------------
def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (from /proc/net/tcp{,6})."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            host, _, hex_port = local.partition(":")
            if state != "0A" or int(hex_port, 16) != port or len(host) != width:
                continue
            # each 32-bit word is little-endian
            raw = b"".join(bytes.fromhex(host[i : i + 8])[::-1] for i in range(0, width, 8))
            found.add(str(ipaddress.ip_address(raw)))
    return found


def non_loopback_addresses() -> list[str]:
    addresses: list[str] = []
    if shutil.which("hostname"):
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10)
        addresses = out.stdout.split()
    usable = []
    for text in addresses:
        with_scope = text.split("%")[0]
        address = ipaddress.ip_address(with_scope)
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            usable.append(text)
    return usable


def test_default_host_is_loopback(served: Served) -> None:
    assert Settings.model_fields["ui_host"].default == "127.0.0.1"
    assert served.launch_kwargs["server_name"] == "127.0.0.1"
    assert served.launch_kwargs["share"] is False
    assert served.app.server_name == "127.0.0.1"
    assert served.app.share is False and served.app.share_url is None


def test_listening_socket_is_bound_to_loopback(served: Served) -> None:
    addresses = listening_addresses(served.port)
    if not Path("/proc/net/tcp").is_file():
        pytest.skip("no /proc/net/tcp to read the bound address from")
    assert addresses == {"127.0.0.1"}


def test_not_reachable_from_other_interfaces(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5):
        pass  # control: it does listen
    others = non_loopback_addresses()
    if not others:
        pytest.skip("this machine has no non-loopback address (hostname -I)")
    reached = []
    for address in others:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            try:
                s.connect((address, served.port))
            except OSError:
                continue
            reached.append(address)
    assert reached == [], f"the UI answers on {reached}:{served.port}"


# --- (c) an over-long question ---------------------------------------------------------
@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[Any]:
    from gradio_client import Client

    client = Client(served.url + "/", verbose=False, analytics_enabled=False)
    yield client
    client.close()


def assert_readable(message: str) -> None:
    assert "10,000 characters long; the limit is 2,000" in message, message
    for leak in ("Traceback", 'File "', "InvalidQuestionError", "advisor/", "site-packages"):
        assert leak not in message, message


def test_long_question_is_a_readable_error_and_the_server_goes_on(client: Any) -> None:
    from gradio_client.exceptions import AppError

    assert len(LONG_QUESTION) == 10_000
    started = time.monotonic()
    with pytest.raises(AppError) as info:
        client.predict(LONG_QUESTION, [], api_name="/ask")
    assert time.monotonic() - started < 30
    assert_readable(str(info.value))

    answer = client.predict(SALARY, [], api_name="/ask")
    assert "$120,000" in answer["answer"] and answer["citations"]


def sse_events(http: httpx.Client, question: str) -> list[tuple[str, str]]:
    """(event, data) pairs of one `/ask` call over plain HTTP, as curl would see them."""
    posted = http.post("/gradio_api/call/ask", json={"data": [question, []]})
    assert posted.status_code == 200, posted.text
    stream = http.get(f"/gradio_api/call/ask/{posted.json()['event_id']}")
    events = []
    for block in stream.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], lines.get("data", "")))
    return events


def test_long_question_over_plain_http(served: Served) -> None:
    """What curl sees: an `event: error` whose data is the message, nothing more."""
    with httpx.Client(base_url=served.url, timeout=30) as http:
        events = sse_events(http, LONG_QUESTION)
        assert events and events[-1][0] == "error", events
        assert_readable(json.dumps(json.loads(events[-1][1])))

        events = sse_events(http, "Do I need coding skills?")
        assert events[-1][0] == "complete", events
        answer = json.loads(events[-1][1])[0]
        assert answer["answer"].strip() and answer["citations"]


def test_long_text_in_the_history_is_answered(client: Any) -> None:
    """The limit is on the question; a long earlier turn must not break or stall a follow-up."""
    history = [["user", LONG_QUESTION], ["assistant", "x " * 5_000]]
    started = time.monotonic()
    answer = client.predict("What about the salary?", history, api_name="/ask")
    assert time.monotonic() - started < 30
    assert answer["answer"].strip()
