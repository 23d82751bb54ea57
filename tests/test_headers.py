"""Header lines stay within RFC 5322 limits whatever a reader's name (issue 12, item 8):
a 200-emoji name (the web form's limit) once made a 1,100-octet To: line that a real
SMTP server refused with `500 Line too long`."""

from __future__ import annotations

from email.header import decode_header, make_header

from digest import pipeline
from digest.delivery.mime import MAX_HEADER_LINE, address_header
from digest.models import Subscriber
from tests.conftest import Project, SmtpServer
from tests.test_delivery import plain, setup

NAMES = ["😀" * 200, "A" * 200, 'Jean "X" Dupont, Esq. ' * 9, "Amélie Lefèvre"]


def _decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


def test_every_header_line_is_at_most_78_characters() -> None:
    for name in NAMES:
        header = address_header("To", name, "reader@example.org")
        assert max(len(line) for line in header.split("\r\n")) <= MAX_HEADER_LINE
        value = header.split(": ", 1)[1].replace("\r\n", "")
        assert _decoded(value) in (f"{name} <reader@example.org>", f'"{name}" <reader@example.org>')


def test_a_200_emoji_name_is_delivered_by_a_real_smtp_server(
    project: Project, smtp_server: SmtpServer
) -> None:
    edition, store = setup(project)
    store.upsert_subscribers([Subscriber("emoji@example.org", "😀" * 200, "en", frozenset())], "t")
    summary = pipeline.send(edition, store, plain(smtp_server))
    assert summary.failed == 0, store.deliveries(edition.issue.key)
    [got] = [r for r in smtp_server.handler.received if r.recipients == ["emoji@example.org"]]
    head = got.data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert max(len(line) for line in head.split("\r\n")) <= 998
    to = head[head.index("To: ") :].split("\r\nMessage-ID:", 1)[0]
    assert max(len(line) for line in to.split("\r\n")) <= MAX_HEADER_LINE
    assert _decoded(to[4:].replace("\r\n", "")) == f"{'😀' * 200} <emoji@example.org>"
    store.close()
