"""`digest subscribers ...`: imports from our CSV, listmonk and Mailchimp; bad files
reported line by line with nothing changed; --skip-invalid; export round-trips."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from digest.cli import cli
from tests.conftest import Project


def run(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def people(project: Project) -> list[dict[str, object]]:
    result = run(project, "subscribers", "list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data, list)
    return data


def write(project: Project, name: str, text: str, encoding: str = "utf-8") -> str:
    path = project.root / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def _import_sample(project: Project) -> None:
    result = run(project, "subscribers", "import", str(project.root / "subscribers/sample.csv"))
    assert result.exit_code == 0, result.output


def test_bad_rows_reported_line_by_line_and_nothing_changes(project: Project) -> None:
    _import_sample(project)
    before = run(project, "subscribers", "export").output
    bad = write(
        project,
        "bad.csv",
        "email,name,language,themes\n"
        "camille.durand@example.org,Camille Renamed,fr,\n"
        "not-an-address,Bad,fr,\n"
        "new@example.org,New,en,\n"
        "NEW@example.org,Twice,en,\n"
        "third@example.org,Third,en,mars\n"
        "fourth@example.org,Fourth,de,\n",
    )
    result = run(project, "subscribers", "import", bad)
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert lines[0].startswith(f"error: {bad}:3: invalid address 'not-an-address'")
    assert lines[1].startswith(f"error: {bad}:5: duplicate of line 4")
    assert lines[2].startswith(f"error: {bad}:6: unknown theme id 'mars'")
    assert lines[3].startswith(f"error: {bad}:7: language 'de'")
    assert "4 bad row(s): nothing imported" in lines[4]
    assert run(project, "subscribers", "export").output == before

    skipped = run(project, "subscribers", "import", "--skip-invalid", bad)
    assert skipped.exit_code == 0, skipped.output
    assert f"skipped: {bad}:3:" in skipped.output
    assert "1 new, 1 updated, 0 unchanged, 4 skipped" in skipped.output
    emails = {str(p["email"]): p for p in people(project)}
    assert emails["camille.durand@example.org"]["name"] == "Camille Renamed"
    assert "new@example.org" in emails and "third@example.org" not in emails


def test_wrong_encoding_and_missing_column(project: Project) -> None:
    latin = write(
        project, "latin.csv", "email,name\na@example.org,Amélie\nb@example.org,Léa\n", "latin-1"
    )
    result = run(project, "subscribers", "import", latin)
    assert result.exit_code != 0
    assert f"error: {latin}:2: not valid UTF-8" in result.output
    assert f"error: {latin}:3: not valid UTF-8" in result.output
    missing = write(project, "missing.csv", "name,language\nA,fr\n")
    result = run(project, "subscribers", "import", missing)
    assert result.exit_code != 0 and f"error: {missing}:1: missing column 'email'" in result.output
    ragged = write(project, "ragged.csv", "email,name\na@example.org,A,extra\n")
    result = run(project, "subscribers", "import", ragged)
    assert f"{ragged}:2: more fields than the header" in result.output
    assert people(project) == []


def test_export_then_import_round_trips_unchanged(project: Project, tmp_path: Path) -> None:
    _import_sample(project)
    extra = write(
        project,
        "extra.csv",
        'email,name,language,themes,company\nx@example.org,"Doe, Jane",en,ukraine,"ACME ""EU"""\n',
    )
    assert run(project, "subscribers", "import", extra).exit_code == 0
    assert run(project, "subscribers", "remove", "j.smith@example.net").exit_code == 0
    first = project.root / "first.csv"
    assert run(project, "subscribers", "export", str(first)).exit_code == 0

    other = {"DIGEST_STORE_PATH": str(tmp_path / "other.db")}
    assert run(project, "subscribers", "import", str(first), env=other).exit_code == 0
    second = project.root / "second.csv"
    assert run(project, "subscribers", "export", str(second), env=other).exit_code == 0
    assert second.read_bytes() == first.read_bytes()
    text = first.read_text(encoding="utf-8")
    assert "Amélie Lefèvre" in text and '"{""company"": ""ACME \\""EU\\""""}"' in text
    assert "j.smith@example.net,Jordan Smith,en,,unsubscribed," in text


def test_import_never_resubscribes_someone_who_unsubscribed(project: Project) -> None:
    _import_sample(project)
    assert run(project, "subscribers", "remove", "p.novak@example.com").exit_code == 0
    result = run(project, "subscribers", "import", str(project.root / "subscribers/sample.csv"))
    assert result.exit_code == 0, result.output
    explicit = write(project, "active.csv", "email,status\np.novak@example.com,active\n")
    result = run(project, "subscribers", "import", explicit)
    assert result.exit_code == 0 and "1 row(s) kept out" in result.output
    shown = json.loads(run(project, "subscribers", "show", "p.novak@example.com", "--json").output)
    assert shown["status"] == "unsubscribed"
    # Columns the file lacks keep their stored values.
    assert shown["language"] == "en" and shown["themes"] == ["balkans", "summit"]
    assert shown["name"] == "Petra Novak"


def test_listmonk_export(project: Project) -> None:
    path = write(
        project,
        "listmonk.csv",
        "uuid,email,name,attributes,status,created_at,updated_at\n"
        'a1b2,ana@example.org,Ana,"{""city"": ""Riga"", ""language"": ""en""}",enabled,'
        "2024-03-01 10:00:00.123+00,2024-03-02 10:00:00+00\n"
        'c3d4,bo@example.org,Bo,"{}",blocklisted,2024-03-01 10:00:00+00,2024-04-01 09:00:00+00\n',
    )
    result = run(project, "subscribers", "import", path)
    assert result.exit_code == 0 and "listmonk format" in result.output, result.output
    ana = json.loads(run(project, "subscribers", "show", "ana@example.org", "--json").output)
    assert ana["status"] == "active" and ana["language"] == "en"
    assert ana["attributes"] == {"city": "Riga", "language": "en", "listmonk_uuid": "a1b2"}
    assert ana["created_at"] == "2024-03-01T10:00:00+00:00"
    bo = json.loads(run(project, "subscribers", "show", "bo@example.org", "--json").output)
    assert bo["status"] == "unsubscribed" and bo["unsubscribed_at"] == "2024-04-01T09:00:00+00:00"


def test_mailchimp_exports(project: Project) -> None:
    subscribed = write(
        project,
        "subscribed_members.csv",
        "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,CONFIRM_TIME,TAGS\n"
        'ana@example.org,Ana,Lind,4,2023-05-01 08:00:00,2023-05-01 08:05:00,"press"\n',
    )
    unsubscribed = write(
        project,
        "unsubscribed_members.csv",
        "Email Address,First Name,Last Name,OPTIN_TIME,UNSUB_TIME,UNSUB_REASON\n"
        "bo@example.org,Bo,,2023-01-01 00:00:00,2023-06-01 12:00:00,NORMAL\n",
    )
    for path in (subscribed, unsubscribed):
        result = run(project, "subscribers", "import", path)
        assert result.exit_code == 0 and "mailchimp format" in result.output, result.output
    ana = json.loads(run(project, "subscribers", "show", "ana@example.org", "--json").output)
    assert ana["name"] == "Ana Lind" and ana["status"] == "active"
    assert ana["confirmed_at"] == "2023-05-01T08:05:00+00:00"
    assert ana["attributes"] == {"member_rating": "4", "tags": "press"}
    assert ana["consent_source"] == "mailchimp"
    bo = json.loads(run(project, "subscribers", "show", "bo@example.org", "--json").output)
    assert bo["status"] == "unsubscribed" and bo["attributes"] == {"unsub_reason": "NORMAL"}


def test_add_show_remove_and_erase(project: Project) -> None:
    added = run(project, "subscribers", "add", "Ana@Example.org", "--name", " Ana  B ",
                "--language", "en", "--themes", "ukraine|summit")  # fmt: skip
    assert added.exit_code == 0 and "added Ana@example.org (active)" in added.output
    shown = run(project, "subscribers", "show", "ana@example.org")
    assert "themes:" in shown.output and "summit|ukraine" in shown.output
    assert "consent_source:  cli" in shown.output
    bad = run(project, "subscribers", "add", "x@example.org", "--themes", "mars")
    assert bad.exit_code != 0 and "unknown theme id 'mars'" in bad.output
    assert run(project, "subscribers", "remove", "ana@example.org").exit_code == 0
    assert people(project)[0]["status"] == "unsubscribed"
    assert run(project, "subscribers", "remove", "--erase", "ana@example.org").exit_code == 0
    assert people(project) == []
    gone = run(project, "subscribers", "show", "ana@example.org")
    assert gone.exit_code != 0 and "no such subscriber" in gone.output


def show(project: Project, email: str) -> dict[str, object]:
    result = run(project, "subscribers", "show", email, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data, dict)
    return data


def test_add_on_an_existing_address_changes_only_the_options_given(project: Project) -> None:
    added = run(project, "subscribers", "add", "bob@example.org", "--name", "Bob B",
                "--language", "en", "--themes", "ukraine|summit")  # fmt: skip
    assert added.exit_code == 0 and "added bob@example.org (active)" in added.output
    updated = run(project, "subscribers", "add", "bob@example.org", "--themes", "hybrid")
    assert updated.exit_code == 0 and "updated bob@example.org (active)" in updated.output
    bob = show(project, "bob@example.org")
    assert (bob["name"], bob["language"], bob["themes"]) == ("Bob B", "en", ["hybrid"])
    renamed = run(project, "subscribers", "add", "Bob@Example.org", "--name", "Robert")
    assert renamed.exit_code == 0, renamed.output
    bob = show(project, "bob@example.org")
    assert (bob["name"], bob["language"], bob["themes"]) == ("Robert", "en", ["hybrid"])
    # Given empty, an option still applies: `--themes ""` is every theme again.
    assert run(project, "subscribers", "add", "bob@example.org", "--themes", "").exit_code == 0
    assert show(project, "bob@example.org")["themes"] == []


def test_add_without_options_on_an_existing_address_changes_nothing_and_says_so(
    project: Project,
) -> None:
    added = run(project, "subscribers", "add", "ana@example.org", "--name", "Ana",
                "--language", "en", "--themes", "ukraine", "--consent", "paper form")  # fmt: skip
    assert added.exit_code == 0, added.output
    before = run(project, "subscribers", "export").output
    again = run(project, "subscribers", "add", "ANA@Example.org")
    assert again.exit_code == 0, again.output
    assert again.output == "unchanged ana@example.org (active)\n"
    assert run(project, "subscribers", "export").output == before


def test_add_keeps_the_consent_record_of_an_import(project: Project) -> None:
    imported = write(
        project,
        "s7.csv",
        "email,name,language,themes,status,created_at,confirmed_at\n"
        "bob@example.org,Bob B,en,ukraine,,2024-05-01 09:00:00,2024-05-01 09:10:00\n"
        "pat@example.org,Pat,en,,pending,2024-05-01 09:00:00,\n",
    )
    assert run(project, "subscribers", "import", imported).exit_code == 0
    before = show(project, "bob@example.org")
    assert before["consent_source"] == "import:s7.csv"
    plain = run(project, "subscribers", "add", "bob@example.org", "--language", "fr")
    assert plain.exit_code == 0 and "updated bob@example.org (active)" in plain.output
    assert show(project, "bob@example.org") == {**before, "language": "fr"}
    # A consent given now is not what the person agreed to then: the record stays.
    claimed = run(project, "subscribers", "add", "bob@example.org", "--consent", "phone call")
    assert claimed.exit_code == 0, claimed.output
    assert "consent on record kept: import:s7.csv" in claimed.output
    after = show(project, "bob@example.org")
    assert after == {**before, "language": "fr"}
    assert after["created_at"] == "2024-05-01T09:00:00+00:00"
    assert after["confirmed_at"] == "2024-05-01T09:10:00+00:00"
    # Pat never confirmed: the operator's add is the consent, and is recorded as such.
    pat = run(project, "subscribers", "add", "pat@example.org", "--consent", "phone call")
    assert pat.exit_code == 0 and "kept" not in pat.output, pat.output
    assert show(project, "pat@example.org")["consent_source"] == "phone call"
    assert show(project, "pat@example.org")["status"] == "active"


def test_a_reimport_from_another_file_keeps_the_consent_on_record(project: Project) -> None:
    first = write(project, "s7.csv", "email,name\nbob@example.org,Bob\n")
    assert run(project, "subscribers", "import", first).exit_code == 0
    added = run(project, "subscribers", "add", "cli@example.org", "--consent", "paper form")
    assert added.exit_code == 0
    second = write(
        project,
        "s8.csv",
        "email,name\nbob@example.org,Bob B\ncli@example.org,Cli\nnew@example.org,\n",
    )
    assert run(project, "subscribers", "import", second).exit_code == 0
    assert show(project, "bob@example.org")["name"] == "Bob B"  # the update itself lands
    assert show(project, "bob@example.org")["consent_source"] == "import:s7.csv"
    assert show(project, "cli@example.org")["consent_source"] == "paper form"
    assert show(project, "new@example.org")["consent_source"] == "import:s8.csv"


def test_add_gives_a_new_address_the_defaults_and_its_consent_stays(project: Project) -> None:
    added = run(project, "subscribers", "add", "new@example.org", "--consent", "paper form")
    assert added.exit_code == 0 and "added new@example.org (active)" in added.output
    new = show(project, "new@example.org")
    assert (new["name"], new["language"], new["themes"]) == ("", "fr", [])
    assert new["status"] == "active" and new["consent_source"] == "paper form"
    assert new["confirmed_at"] and new["created_at"]
    assert run(project, "subscribers", "add", "other@example.org").exit_code == 0
    assert show(project, "other@example.org")["consent_source"] == "cli"
    later = run(project, "subscribers", "add", "new@example.org", "--name", "New")
    assert later.exit_code == 0, later.output
    assert show(project, "new@example.org") == {**new, "name": "New"}


def test_export_defuses_spreadsheet_formulas_and_import_restores_them(
    project: Project, tmp_path: Path
) -> None:
    # Names come from the public form; an operator opens the export in a spreadsheet.
    formula = '=HYPERLINK("https://evil.example/","Open")'
    added = run(project, "subscribers", "add", "=x@example.org", "--name", formula)
    assert added.exit_code == 0, added.output
    exported = project.root / "export.csv"
    assert run(project, "subscribers", "export", str(exported)).exit_code == 0
    line = exported.read_text(encoding="utf-8").splitlines()[1]
    assert line.startswith("'=x@example.org,\"'=HYPERLINK(")
    other = {"DIGEST_STORE_PATH": str(tmp_path / "other.db")}
    assert run(project, "subscribers", "import", str(exported), env=other).exit_code == 0
    shown = json.loads(run(project, "subscribers", "show", "=x@example.org", "--json",
                           env=other).output)  # fmt: skip
    assert shown["email"] == "=x@example.org" and shown["name"] == formula


def test_a_second_import_of_the_same_list_changes_nothing_and_says_so(project: Project) -> None:
    _import_sample(project)
    before = run(project, "subscribers", "export").output
    again = run(project, "subscribers", "import", str(project.root / "subscribers/sample.csv"))
    assert again.exit_code == 0, again.output
    assert "0 new, 0 updated, 7 unchanged" in again.output
    assert run(project, "subscribers", "export").output == before


def test_addresses_are_stored_in_a_form_smtp_can_carry(project: Project) -> None:
    # SMTPUTF8 is not used: a non-ASCII local part would crash the send for everyone.
    refused = run(project, "subscribers", "add", "josé@example.org")
    assert refused.exit_code == 1
    assert refused.output.startswith("error: ") and "before the @-sign" in refused.output
    added = run(project, "subscribers", "add", "ana@exämple.org")
    assert added.exit_code == 0, added.output
    assert "ana@xn--exmple-cua.org" in added.output  # the domain in its ASCII (IDNA) form
    shown = run(project, "subscribers", "show", "ana@exämple.org")
    assert shown.exit_code == 0 and "ana@xn--exmple-cua.org" in shown.output
