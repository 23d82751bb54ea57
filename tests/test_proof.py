"""`digest send --test-to`: a proof through the real SMTP server, outside the outbox."""

from __future__ import annotations

from click.testing import CliRunner, Result

from digest.cli import cli
from digest.store import open_store
from tests.conftest import Project, SmtpServer


def run(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def smtp_env(server: SmtpServer) -> dict[str, str]:
    return {
        "DIGEST_DELIVERY_TRANSPORT": "smtp",
        "DIGEST_SMTP_HOST": server.host,
        "DIGEST_SMTP_PORT": str(server.port),
        "DIGEST_SMTP_SECURITY": "none",
    }


def test_proof_goes_to_one_address_and_leaves_the_outbox_alone(
    project: Project, smtp_server: SmtpServer
) -> None:
    run(project, "subscribers", "import", str(project.root / "subscribers/sample.csv"))
    result = run(
        project, "send", "--date", "2025-12-03", "--test-to", "editor@example.org",
        "--variant", "en:ukraine", env=smtp_env(smtp_server),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "proof of issue 2025-W49 (en:ukraine) sent to editor@example.org" in result.output
    [received] = smtp_server.handler.received
    assert received.recipients == ["editor@example.org"]
    message = received.message
    assert message["Content-Language"] == "en"
    html = message.get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert "Ukraine" in content and "Defence spending" not in content
    with open_store(project.settings()) as store:
        assert store.counts("2025-W49") == {}
    # the real send afterwards still mails everybody
    sent = run(project, "send", "--date", "2025-12-03", env=smtp_env(smtp_server))
    assert "7 sent, 0 failed" in sent.output, sent.output


def test_proof_rejects_bad_address_variant_and_empty_variant(
    project: Project, smtp_server: SmtpServer
) -> None:
    env = smtp_env(smtp_server)
    bad = run(project, "send", "--date", "2025-12-03", "--test-to", "not-an-address", env=env)
    assert bad.exit_code == 2, bad.output
    assert "Invalid value for '--test-to': invalid address 'not-an-address'" in bad.output
    bad = run(project, "send", "--date", "2025-12-03", "--test-to", "e@example.org",
              "--variant", "de:all", env=env)  # fmt: skip
    assert bad.exit_code == 2 and "language 'de' is not one of fr, en" in bad.output
    bad = run(project, "send", "--date", "2025-12-03", "--variant", "en:all", env=env)
    assert bad.exit_code == 2 and "--variant only applies to a proof" in bad.output
    empty = run(project, "send", "--date", "2025-11-27", "--test-to", "e@example.org",
                "--variant", "fr:ukraine", env=env)  # fmt: skip
    assert empty.exit_code != 0 and "none of its themes has an entry" in empty.output
    assert smtp_server.handler.received == []
    assert "Traceback" not in bad.output + empty.output
