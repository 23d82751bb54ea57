"""A small real-HTTP client for the served app: urllib with a cookie jar, returning
(status, headers, body) for 4xx/5xx too, and helpers to read the outbox."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str

    def csrf(self) -> str:
        found = CSRF.search(self.body)
        assert found, self.body
        return found.group(1)


@dataclass
class Browser:
    """One visitor: keeps cookies between requests like a browser would."""

    base: str
    language: str = "en"
    """Sent as Accept-Language; pages reached by a subscriber's link use theirs."""
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def _open(self, request: urllib.request.Request) -> Reply:
        request.add_header("Accept-Language", self.language)
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        try:
            with opener.open(request, timeout=10) as response:
                return Reply(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, dict(exc.headers), exc.read().decode())

    def get(self, path: str) -> Reply:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: list[tuple[str, str]] | dict[str, str]) -> Reply:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(
            self.base + path,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return self._open(request)


def path_of(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    return parsed.path


def mails_to(folder: Path, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        if address in str(parsed["To"]):
            found.append(parsed)
    return found


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def link(text: str, kind: str) -> str:
    found = re.search(rf"https?://\S+/{kind}/[A-Za-z0-9._-]+", text)
    assert found, text
    return found.group(0)
