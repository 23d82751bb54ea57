"""Lab and intranet lists: special-use domains are refused unless the config says so."""

from __future__ import annotations

import json
import threading

import email_validator
import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from digest.subscribers import normalize_address
from digest.web.app import create_app
from digest.web.server import running
from tests.conftest import Project
from tests.test_subscription_web import status_of
from tests.webclient import Browser

ALLOW = {"DIGEST_DELIVERY_SPECIAL_USE_DOMAINS": "true"}
LAB = ["ana@lab.test", "printer@office.local", "ops@corp.internal"]


def run(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def lab_csv(project: Project, *addresses: str) -> str:
    path = project.root / "lab.csv"
    path.write_text("email,name,language,themes\n" + "".join(f"{a},,en,\n" for a in addresses))
    return str(path)


def test_special_use_domains_are_refused_by_default_with_the_setting_named(
    project: Project,
) -> None:
    result = run(project, "subscribers", "import", lab_csv(project, *LAB))
    assert result.exit_code != 0
    assert "lab.csv:2: invalid address 'ana@lab.test'" in result.output
    assert "lab.csv:3: invalid address 'printer@office.local'" in result.output
    assert "set [delivery] special_use_domains = true" in result.output
    listed = run(project, "subscribers", "list", "--json")
    assert json.loads(listed.output) == []  # nothing half-imported


def test_the_setting_accepts_lab_and_intranet_addresses(project: Project) -> None:
    result = run(project, "subscribers", "import", lab_csv(project, *LAB), env=ALLOW)
    assert result.exit_code == 0, result.output
    added = run(project, "subscribers", "add", "desk@newsroom.test", env=ALLOW)
    assert added.exit_code == 0, added.output
    listed = json.loads(run(project, "subscribers", "list", "--json").output)
    assert sorted(p["email"] for p in listed) == sorted([*LAB, "desk@newsroom.test"])
    refused = run(project, "subscribers", "add", "x@host.invalid", env=ALLOW)
    assert refused.exit_code != 0 and "special-use" in refused.output  # never deliverable


def test_allowing_for_one_call_changes_nothing_for_the_others() -> None:
    assert normalize_address("Ana@Lab.TEST", special_use=True) == "Ana@lab.test"
    with pytest.raises(ValueError, match="special-use"):
        normalize_address("ana@lab.test")
    assert "test" in email_validator.SPECIAL_USE_DOMAIN_NAMES
    errors: list[str] = []

    def strict() -> None:
        for _ in range(200):
            try:
                normalize_address("a@b.local")
                errors.append("accepted")
            except ValueError:
                pass

    def lenient() -> None:
        for _ in range(200):
            normalize_address("a@b.local", special_use=True)

    threads = [threading.Thread(target=strict), threading.Thread(target=lenient)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_subscribe_form_follows_the_setting(project: Project) -> None:
    """The public form validates like imports do: a lab list's form takes .test addresses
    only when [delivery] special_use_domains says so."""
    for allowed, status, expected in ((False, 400, None), (True, 200, "pending")):
        address = f"reader{int(allowed)}@lab.test"
        settings = project.settings(**(ALLOW if allowed else {}))
        with running(create_app(settings)) as base:
            visitor = Browser(base)
            form = visitor.get("/subscribe")
            data = [("csrf_token", form.csrf()), ("email", address), ("language", "en")]
            reply = visitor.post("/subscribe", data)
        assert reply.status == status, reply.body
        assert status_of(project, address) == expected
