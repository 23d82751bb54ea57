"""An opt-out stands (issue 12, item 1): neither the public form nor an import changes
the status, name or choices of an address that unsubscribed, complained, bounced or
was erased; only that person's own confirmation click brings it back."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from digest.consent import keeps_out, may_change_status, suppression_hash
from digest.models import Subscriber
from digest.store import Store, SubscriberRecord, open_store
from digest.web.app import create_app
from digest.web.server import running
from tests.conftest import Project
from tests.webclient import Browser, link, mails_to, path_of, text_of

ADDRESS = "ana@example.org"
OPTED_OUT = ("unsubscribed", "complained", "bounced")
NON_ACTIVE = ("pending", *OPTED_OUT, "erased")


def run(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args])


def stored(project: Project) -> tuple[str, str, str] | None:
    """(status, name, themes) of ADDRESS, None when no row."""
    with open_store(project.settings()) as store:
        found = store.record_by_email(ADDRESS)
    if found is None:
        return None
    return (found.status or "", found.subscriber.name, "|".join(sorted(found.subscriber.themes)))


def make(project: Project, status: str) -> None:
    """ADDRESS as a subscriber named Ana reading 'ukraine', in `status` ("erased": gone)."""
    with open_store(project.settings()) as store:
        store.import_records(
            [SubscriberRecord(Subscriber(ADDRESS, "Ana", "en", frozenset({"ukraine"})), "active")]
        )
        found = store.record_by_email(ADDRESS)
        assert found is not None
        if status == "erased":
            store.erase(found.subscriber.id)
        else:
            store.db.execute("UPDATE subscribers SET status = ? WHERE email = ?", (status, ADDRESS))


def write_csv(project: Project, text: str) -> str:
    path = project.root / "old-list.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("status", NON_ACTIVE)
def test_import_of_an_old_list_changes_no_opted_out_or_erased_address(
    project: Project, status: str
) -> None:
    make(project, status)
    before = stored(project)
    old = write_csv(project, f"email,name,themes,status\n{ADDRESS},Mallory,hybrid,active\n")
    result = run(project, "subscribers", "import", old)
    assert result.exit_code == 0, result.output
    if status == "pending":  # not an opt-out: the operator's list may activate it
        assert stored(project) == ("active", "Mallory", "hybrid")
        assert "kept out" not in result.output
        return
    assert stored(project) == before  # same status, name and choices (or still no row)
    assert "1 row(s) kept out" in result.output
    # Nor does `subscribers add`, nor an import without a status column.
    added = run(project, "subscribers", "add", ADDRESS, "--name", "Eve")
    assert added.exit_code != 0 and "kept out" in added.output
    no_status = write_csv(project, f"email,name\n{ADDRESS},Trudy\n")
    assert run(project, "subscribers", "import", no_status).exit_code == 0
    assert stored(project) == before


@pytest.mark.parametrize("status", NON_ACTIVE)
def test_subscribe_form_changes_nothing_until_the_owner_confirms(
    project: Project, status: str
) -> None:
    make(project, status)
    before = stored(project)
    app = create_app(project.settings())
    with running(app) as base:
        stranger = Browser(base)
        form = stranger.get("/subscribe")
        data = [("csrf_token", form.csrf()), ("email", ADDRESS), ("name", "Mallory"),
                ("language", "en"), ("themes", "hybrid")]  # fmt: skip
        assert stranger.post("/subscribe", data).status == 200
        after_form = stored(project)
        if status == "pending":
            assert after_form == ("pending", "Mallory", "hybrid")
        elif status == "erased":  # a new pending row, still suppressed until confirmed
            assert after_form == ("pending", "Mallory", "hybrid")
            again = write_csv(project, f"email,status\n{ADDRESS},active\n")
            assert "kept out" in run(project, "subscribers", "import", again).output
            assert stored(project) == after_form
        else:
            assert after_form == before  # status, name, choices untouched
        # The mailbox's owner gets a confirmation link; their click brings them back.
        [mail] = mails_to(project.root / "outbox", ADDRESS)
        confirm = path_of(link(text_of(mail), "confirm"))
        owner = Browser(base)
        page = owner.get(confirm)
        assert page.status == 200
        assert owner.post(confirm, {"csrf_token": page.csrf()}).status == 200
    state = stored(project)
    assert state is not None and state[0] == "active"
    with open_store(project.settings()) as store:
        assert not store.is_suppressed(ADDRESS)


def test_a_comeback_link_cannot_undo_a_later_opt_out(project: Project) -> None:
    """The link lifts the status it was sent for; an opt-out after it stands."""
    make(project, "unsubscribed")
    app = create_app(project.settings())
    with running(app) as base:
        visitor = Browser(base)
        form = visitor.get("/subscribe")
        visitor.post("/subscribe", {"csrf_token": form.csrf(), "email": ADDRESS})
        [mail] = mails_to(project.root / "outbox", ADDRESS)
        confirm = path_of(link(text_of(mail), "confirm"))
        with open_store(project.settings()) as store:
            store.db.execute("UPDATE subscribers SET status = 'complained'")
        page = visitor.get("/subscribe")
        assert visitor.get(confirm).status == 400
        assert visitor.post(confirm, {"csrf_token": page.csrf()}).status == 400
    assert stored(project) == ("complained", "Ana", "ukraine")


def test_erased_address_is_kept_only_as_a_keyed_hash(project: Project, tmp_path: Path) -> None:
    make(project, "erased")
    with open_store(project.settings()) as store:
        assert store.is_suppressed(ADDRESS) and store.is_suppressed(ADDRESS.upper())
        [(digest, reason)] = store.db.execute("SELECT address_hash, reason FROM suppressions")
        key = store.db.execute("SELECT value FROM store_keys").fetchone()[0]
    assert reason == "erased" and digest == suppression_hash(bytes(key), ADDRESS)
    # Another store has another key: the hash is no global lookup table.
    with Store(tmp_path / "other.db") as other:
        other_key = other.db.execute("SELECT value FROM store_keys").fetchone()[0]
    assert suppression_hash(bytes(other_key), ADDRESS) != digest


def test_rules() -> None:
    for old in OPTED_OUT:
        assert not may_change_status(old, "active", by_confirmation=False)
        assert not may_change_status(old, "pending", by_confirmation=False)
        assert may_change_status(old, "active", by_confirmation=True)
        assert keeps_out(old, suppressed=False)
    assert may_change_status(None, "active", by_confirmation=False)
    assert may_change_status("active", "unsubscribed", by_confirmation=False)
    assert may_change_status("pending", "active", by_confirmation=False)
    assert keeps_out(None, suppressed=True) and keeps_out("pending", suppressed=True)
    assert not keeps_out("active", suppressed=True) and not keeps_out("pending", False)


def test_a_comeback_through_the_form_takes_the_new_choices_once_confirmed(
    project: Project,
) -> None:
    """Unsubscribed, then signed up again on the form: the confirmation mail speaks the
    language just chosen, the row stays as it was until the click, and the click applies
    the new name, language and themes with the form's double opt-in as the consent."""
    camille = "camille.durand@example.org"
    sample = project.root / "sample.csv"
    sample.write_text(f"email,name,language,themes\n{camille},Camille Durand,fr,\n")
    assert run(project, "subscribers", "import", str(sample)).exit_code == 0
    with open_store(project.settings()) as store:
        store.db.execute("UPDATE subscribers SET confirmed_at = '2024-01-08T09:00:00+00:00'")
        old = store.record_by_email(camille)
    assert old is not None and old.consent_source == "import:sample.csv"
    assert (old.subscriber.language, old.subscriber.themes) == ("fr", frozenset())
    app = create_app(project.settings())
    one_click = app.config["DIGEST_SIGNER"].sign("unsubscribe", old.subscriber.id, camille)
    with running(app) as base:
        camille_browser = Browser(base)
        assert camille_browser.post(f"/unsubscribe/{one_click}", {}).status == 200
        form = camille_browser.get("/subscribe")
        data = [("csrf_token", form.csrf()), ("email", camille), ("name", "Cam"),
                ("language", "en"), ("themes", "hybrid")]  # fmt: skip
        assert camille_browser.post("/subscribe", data).status == 200
        with open_store(project.settings()) as store:
            waiting = store.record_by_email(camille)
        assert waiting is not None and waiting.status == "unsubscribed"
        kept = (waiting.subscriber.name, waiting.subscriber.language, waiting.subscriber.themes)
        assert kept == ("Camille Durand", "fr", frozenset())
        assert waiting.consent_source == "import:sample.csv"
        # Nor does an import or `subscribers add` bring it back meanwhile.
        again = write_csv(project, f"email,name,status\n{camille},Mallory,active\n")
        assert "kept out" in run(project, "subscribers", "import", again).output
        assert run(project, "subscribers", "add", camille).exit_code != 0
        [mail] = mails_to(project.root / "outbox", camille)
        assert mail["Content-Language"] == "en"
        assert mail["Subject"].startswith("Confirm your subscription")
        confirm = path_of(link(text_of(mail), "confirm"))
        page = camille_browser.get(confirm)
        assert camille_browser.post(confirm, {"csrf_token": page.csrf()}).status == 200
    with open_store(project.settings()) as store:
        back = store.record_by_email(camille)
        left = store.db.execute("SELECT COUNT(*) FROM signup_requests").fetchone()[0]
    assert back is not None and back.status == "active"
    assert (back.subscriber.name, back.subscriber.language) == ("Cam", "en")
    assert back.subscriber.themes == frozenset({"hybrid"})
    assert back.consent_source == "web form (double opt-in)"
    assert back.confirmed_at and back.confirmed_at > "2025"
    assert back.unsubscribed_at is None and left == 0
