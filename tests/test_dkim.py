"""DKIM signatures made by the send, checked with dkimpy against a key made at test time."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from digest import pipeline
from digest.delivery.dkim import load_signer, verify
from digest.delivery.smtp import SmtpOptions, SmtpTransport
from digest.errors import ConfigError
from digest.models import Subscriber
from digest.store import Store
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
    with Store(project.settings().store.path) as store:
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
