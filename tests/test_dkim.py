"""DKIM signatures made by the send, checked with dkimpy against a key made at test time."""

from __future__ import annotations

import base64
import dataclasses
import random
import subprocess
import sys
from pathlib import Path

import dkim
import pytest
from dkim.canonicalization import CanonicalizationPolicy

from digest import pipeline
from digest.delivery.dkim import (
    SIGNED_HEADERS,
    DkimSigner,
    header_fields,
    load_signer,
    public_record,
    relaxed_body,
    relaxed_headers,
    rsa_key,
    verify,
)
from digest.delivery.dkim import ed25519_key as ed25519_key_of
from digest.delivery.outbox import GIL_TURN
from digest.delivery.smtp import SmtpOptions, SmtpTransport
from digest.errors import ConfigError
from digest.models import Message, Subscriber
from digest.store import open_store
from tests.conftest import Project, SmtpServer
from tests.test_delivery import FAST, setup


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A fresh RSA key and its DNS TXT record (v=DKIM1; p=...)."""
    folder = tmp_path_factory.mktemp("dkim")
    key = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def test_sent_messages_carry_a_valid_signature_covering_one_click_unsubscribe(
    project: Project, smtp_server: SmtpServer, dkim_key: tuple[Path, bytes]
) -> None:
    key, record = dkim_key
    env = {"DIGEST_DKIM_SELECTOR": "d2025", "DIGEST_DKIM_DOMAIN": "example.org",
           "DIGEST_DKIM_KEY_FILE": str(key)}  # fmt: skip
    settings = project.settings(**env)
    signer = load_signer(settings)
    assert signer is not None
    edition, store = setup(project)
    transport = SmtpTransport(SmtpOptions(smtp_server.host, smtp_server.port, "none"))
    pipeline.send(edition, store, transport, options=FAST, sign=signer.sign)
    received = smtp_server.handler.received
    assert len(received) == 7
    dns = {b"d2025._domainkey.example.org": record}
    for message in received:
        assert verify(message.data, dns)
        signature = message.message["DKIM-Signature"].replace("\r\n", "").replace(" ", "")
        signed = signature.split("h=")[1].split(";")[0].lower().split(":")
        assert {"list-unsubscribe", "list-unsubscribe-post", "from", "feedback-id"} <= set(signed)
    # a changed one-click header breaks the signature
    tampered = received[0].data.replace(
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: x"
    )
    assert tampered != received[0].data and not verify(tampered, dns)


def test_key_from_the_environment_and_feedback_id(
    project: Project, dkim_key: tuple[Path, bytes]
) -> None:
    key, record = dkim_key
    settings = project.settings(
        DIGEST_DKIM_SELECTOR="s", DIGEST_DKIM_DOMAIN="example.org",
        DIGEST_DKIM_KEY=key.read_text(encoding="ascii"),
    )  # fmt: skip
    signer = load_signer(settings)
    assert signer is not None
    edition, _ = setup(project)
    reader = next(iter(_readers(project)))
    signed = signer.sign(edition.message_for(reader))
    assert verify(signed.data, {b"s._domainkey.example.org": record})
    assert b"\r\nFeedback-ID: 2025-W49:fr-all:digest\r\n" in signed.data


def _readers(project: Project) -> list[Subscriber]:
    with open_store(project.settings()) as store:
        return store.subscribers("active")


def test_bad_dkim_settings_are_named(project: Project, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    env = {"DIGEST_DKIM_SELECTOR": "s", "DIGEST_DKIM_DOMAIN": "example.org"}
    with pytest.raises(ConfigError, match=r"\[dkim\]: key from .*broken.pem is not usable") as bad:
        load_signer(project.settings(**env, DIGEST_DKIM_KEY_FILE=str(broken)))
    assert "\n" not in str(bad.value)
    with pytest.raises(ConfigError, match=r"\[dkim\] key_file: cannot read"):
        load_signer(project.settings(**env, DIGEST_DKIM_KEY_FILE=str(tmp_path / "none.pem")))
    with pytest.raises(ConfigError, match=r"\[dkim\] selector and domain: set both"):
        project.settings(DIGEST_DKIM_SELECTOR="s")


# -- the OpenSSL-backed signer: byte-for-byte what dkimpy verifies ---------------------


@pytest.fixture(scope="module")
def ed25519_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = tmp_path_factory.mktemp("ed") / "ed25519.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)],
                   check=True, capture_output=True)  # fmt: skip
    return key


def both_keys(project: Project, rsa_key: Path, ed_key: Path) -> dict[str, str]:
    return {"DIGEST_DKIM_SELECTOR": "r", "DIGEST_DKIM_DOMAIN": "example.org",
            "DIGEST_DKIM_KEY_FILE": str(rsa_key), "DIGEST_DKIM_ED25519_SELECTOR": "e",
            "DIGEST_DKIM_ED25519_KEY_FILE": str(ed_key)}  # fmt: skip


def test_rsa_and_ed25519_signatures_verify_over_every_sample_message(
    project: Project, smtp_server: SmtpServer, dkim_key: tuple[Path, bytes], ed25519_key: Path
) -> None:
    key, _ = dkim_key
    signer = load_signer(project.settings(**both_keys(project, key, ed25519_key)))
    assert signer is not None
    edition, store = setup(project)
    transport = SmtpTransport(SmtpOptions(smtp_server.host, smtp_server.port, "none"))
    options = dataclasses.replace(FAST, connections=3)
    pipeline.send(edition, store, transport, options=options, sign=signer.sign,
                  transport_factory=lambda: SmtpTransport(transport.options))  # fmt: skip
    dns = {b"r._domainkey.example.org": public_record(key.read_bytes()),
           b"e._domainkey.example.org": public_record(ed25519_key.read_bytes())}  # fmt: skip
    assert dns[b"e._domainkey.example.org"].startswith(b"v=DKIM1; k=ed25519; p=")
    received = smtp_server.handler.received
    assert len(received) == 7
    for message in received:
        assert message.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256;")
        signatures = message.message.get_all("DKIM-Signature")
        assert [s.split("a=")[1].split(";")[0] for s in signatures] == [
            "rsa-sha256", "ed25519-sha256"
        ]  # fmt: skip
        assert verify(message.data, dns, 0) and verify(message.data, dns, 1)
        for signature in signatures:
            signed = signature.replace(" ", "").split("h=")[1].split(";")[0].split(":")
            assert "list-unsubscribe-post" in signed
    tampered = received[0].data.replace(b"One-Click", b"One-Clack")
    assert not verify(tampered, dns, 0) and not verify(tampered, dns, 1)


HEADERS = [
    b"From: Digest <digest@example.org>",
    b"To: =?utf-8?q?Am=C3=A9lie?= <amelie@example.org>",
    b"Subject:   Weekly\t digest\r\n  n\xc2\xb0 49",
    b"Date: Mon, 08 Dec 2025 06:00:00 +0000",
    b"Message-ID: <2025-W49.4.x@example.org>",
    b"List-Unsubscribe: <https://example.org/u/abc>,\r\n <mailto:unsubscribe@example.org>",
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    b"MIME-Version: 1.0",
    b"Content-Type: text/plain; charset=utf-8",
    b"X-Extra: not signed",
]


def test_signatures_verify_over_header_orders_and_awkward_bodies(
    dkim_key: tuple[Path, bytes], ed25519_key: Path
) -> None:
    key, _ = dkim_key
    signer = DkimSigner(
        "example.org",
        [rsa_key(b"r", key.read_bytes()), ed25519_key_of(b"e", ed25519_key.read_bytes())],
    )
    dns = {b"r._domainkey.example.org": public_record(key.read_bytes()),
           b"e._domainkey.example.org": public_record(ed25519_key.read_bytes())}  # fmt: skip
    rng = random.Random(13)
    for case in range(60):
        headers = HEADERS[:]
        rng.shuffle(headers)
        body = random_body(rng)
        data = b"\r\n".join(headers) + b"\r\n\r\n" + body
        signed = signer.sign(Message("a@example.org", "b@example.org", "<x>", data)).data
        assert verify(signed, dns, 0), (case, data)
        assert verify(signed, dns, 1), (case, data)


def random_body(rng: random.Random) -> bytes:
    pieces = [b"word", b" ", b"  ", b"\t", b" \t ", b"\r\n", b"\r\n\r\n", b"=20", b".", b"\xc3\xa9"]
    body = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 400)))
    return body + rng.choice([b"", b"\r\n", b"\r\n\r\n\r\n", b"  \r\n"])


def test_fast_relaxed_body_matches_dkimpy() -> None:
    rng = random.Random(8463)
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    bodies = [b"", b"\r\n", b"\r\n\r\n", b" ", b"a \r\n", b"a" + b" " * 37 + b"b\r\n"]
    bodies += [random_body(rng) for _ in range(500)]
    for body in bodies:
        assert relaxed_body(body) == policy.canonicalize_body(body), body


def random_header_block(rng: random.Random) -> bytes:
    """Shuffled fields with duplicates, odd case, folds, tabs and runs of spaces."""
    lines = []
    for field in rng.sample(HEADERS, rng.randrange(1, len(HEADERS) + 1)) * rng.choice([1, 1, 2]):
        name, _, value = field.partition(b":")
        name = rng.choice([name, name.upper(), name.lower()])
        pad = rng.choice([b"", b" ", b"  ", b"\t", b" \t "])
        value = value.replace(b" ", rng.choice([b" ", b"  ", b"\r\n ", b"\r\n\t", b"\t"]), 1)
        lines.append(name + b":" + pad + value + rng.choice([b"", b" ", b"\t"]))
    return b"\r\n".join(lines)


def test_fast_relaxed_headers_match_dkimpy() -> None:
    # What dkimpy hashes for the signed fields (dkim.hash_headers): every field parsed
    # and canonicalized, then the last instances the h= list names, bottom up.
    rng = random.Random(6376)
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    names = (*SIGNED_HEADERS, b"from", b"x-extra", b"x-absent", b"to")
    for _ in range(500):
        block = random_header_block(rng)
        parsed, _ = dkim.rfc822_parse(block + b"\r\n\r\n")
        chosen = dkim.select_headers(policy.canonicalize_headers(parsed), names)
        expected = b"".join(name + b":" + value for name, value in chosen)
        assert relaxed_headers(header_fields(block), names) == expected, block


def test_header_fields_refuse_what_dkimpy_refuses() -> None:
    with pytest.raises(dkim.MessageFormatError):
        header_fields(b"From: a@example.org\r\nnot a header line")
    lf_only = b"From: a@example.org\nTo: b@example.org"
    assert header_fields(lf_only) == [
        (b"From", b" a@example.org\r\n"),
        (b"To", b" b@example.org\r\n"),
    ]


def test_the_send_shortens_gil_turns_and_restores_them(project: Project) -> None:
    # The builder thread gives up the GIL for each RSA signature; with Python's 5 ms turns
    # it waited that long to get it back. The send shortens them, and only for itself.
    seen: list[float] = []

    class Recording:
        def send(self, message: Message) -> str:
            seen.append(sys.getswitchinterval())
            return "250 ok"

        def close(self) -> None:
            pass

    before = sys.getswitchinterval()
    edition, store = setup(project)
    pipeline.send(edition, store, Recording(), options=FAST)
    assert len(seen) == 7 and max(seen) <= GIL_TURN < before
    assert sys.getswitchinterval() == before
