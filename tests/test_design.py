"""The digest's design, variants, catalogs and guards, rendered through the real compiler."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from click.testing import CliRunner
from markupsafe import escape

from digest import pipeline
from digest.cli import cli
from digest.delivery.file import FileTransport
from digest.errors import RenderError
from digest.models import Subscriber, Variant
from digest.render import variant as variant_module
from digest.render.i18n import CODE_MESSAGES
from digest.render.variant import parse_variant, summary
from digest.store import open_store
from digest.subscribers import read_csv
from tests.conftest import REPO, Project

NOW = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)
VALUES = {
    "name": "Ana",
    "unsubscribe_url": "https://u.example/x",
    "preferences_url": "https://p.example/y",
}


def edition(project: Project) -> pipeline.Edition:
    settings = project.settings()
    issue = pipeline.assemble(settings, pipeline.read_entries(settings), dt.date(2025, 12, 3))
    return pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)


def test_mjml_is_compiled_once_per_variant_not_per_subscriber(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[str] = []
    real = variant_module.compile_mjml

    def counting(source: str) -> str:  # a spy: the real compiler still runs
        compiled.append(source)
        return real(source)

    monkeypatch.setattr(variant_module, "compile_mjml", counting)
    settings = project.settings()
    csv = project.root / "subscribers" / "many.csv"
    rows = ["email,name,language,themes"]
    variants = ["fr,", "en,", "fr,ukraine", "en,ukraine|hybrid"]
    rows += [f"r{n}@example.org,R {n},{variants[n % 4]}" for n in range(40)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    people = read_csv(csv, [t.id for t in settings.themes], ("fr", "en"), "fr")
    with open_store(settings) as store:
        store.upsert_subscribers(people, source="test")
        summary = pipeline.send(edition(project), store, FileTransport(project.root / "out"))
    assert summary.sent == 40
    # Each variant twice, whatever the number of readers: the email and its archived copy.
    assert len(compiled) == 8
    with open_store(settings) as store:
        assert len(store.archived_labels("2025-W49")) == 4
    assert len(list((project.root / "out").glob("*.eml"))) == 40


def test_the_fallback_greeting_is_looked_up_once_per_language_not_per_message(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []
    real = pipeline.reader_name

    def counting(locale: Path, language: str) -> str:  # a spy: the real catalog is read
        looked_up.append(language)
        return real(locale, language)

    monkeypatch.setattr(pipeline, "reader_name", counting)
    ed = edition(project)
    nameless = [
        Subscriber(email=f"r{n}@example.org", name="", language=("fr", "en")[n % 2],
                   themes=frozenset(), id=n + 1)
        for n in range(20)
    ]  # fmt: skip
    for reader in nameless:
        ed.message_for(reader)
    assert sorted(looked_up) == ["en", "fr"]


def test_key_figures_and_quote_show_only_with_their_entries(project: Project) -> None:
    # Found in the fixtures: "5 % du PIB" (spending, French) and an unattributed quote
    # (ukraine): a quote of the week needs a named speaker, so neither block shows.
    ukraine_only = edition(project).compiled(Variant("en", frozenset({"ukraine"})))
    html = ukraine_only.html.fill(VALUES)
    assert "Quote of the week" not in html and "Key figures" not in html
    assert "— <a" not in html  # no speaker line without a speaker
    hybrid_only = edition(project).compiled(Variant("en", frozenset({"hybrid"})))
    assert "Key figures" not in hybrid_only.html.fill(VALUES)

    project.write_entry(
        "2025-12-02-pins.md",
        "---\ntitle: Aide à Kyiv\ndate: 2025-12-02\nthemes: [ukraine]\n"
        "source: https://example.org/pins\nhighlights:\n"
        '  pin: ["3 systèmes <d\'ici> 2026", "« We will not let up » — A minister"]\n'
        "---\nDes systèmes arrivent.\n",
    )
    ed = edition(project)
    everything = ed.compiled(Variant("fr", frozenset()))
    html = everything.html.fill(VALUES)
    assert "Chiffres clés" in html and "Citation de la semaine" in html
    assert "3 systèmes &lt;d&#39;ici&gt; 2026" in html or "3 systèmes &lt;d'ici&gt; 2026" in html
    assert "« We will not let up »" in html and "A minister</a>" in html
    assert 'href="#e-2025-12-01-budgets"' in html and 'id="e-2025-12-01-budgets"' in html
    text = everything.text.fill(VALUES)
    assert "CHIFFRES CLÉS" in text and "- 3 systèmes <d'ici> 2026" in text
    assert "« We will not let up »" in text and "— A minister" in text

    spending_only = ed.compiled(Variant("fr", frozenset({"spending"})))
    html = spending_only.html.fill(VALUES)
    assert "Chiffres clés" in html and "5\u00a0%" in html and "systèmes" not in html
    assert "Citation de la semaine" not in html
    # an English reader gets no French figure untagged
    assert "Key figures" not in ed.compiled(Variant("en", frozenset({"spending"}))).html.fill(
        VALUES
    )


def test_a_title_that_starts_with_its_themes_name_is_not_prefixed_twice(
    project: Project,
) -> None:
    project.write_entry(
        "2025-12-02-kyiv-aid.md",
        '---\ntitle: "Ukraine : les Alliés promettent plus de défense aérienne"\n'
        "date: 2025-12-02\nsource: https://example.org/k\nthemes: [ukraine]\n---\n"
        "Les Alliés ont promis à Kyiv des systèmes sol-air supplémentaires.\n",
    )
    preheader = edition(project).compiled(Variant("fr", frozenset({"ukraine"}))).preheader
    assert preheader.startswith("Ukraine : les Alliés promettent"), preheader
    assert "Ukraine: Ukraine" not in preheader.replace("\u00a0", " ").replace(" :", ":")
    others = edition(project).compiled(Variant("fr", frozenset({"spending"}))).preheader
    assert others.startswith("Dépenses de défense") and ": Les Alliés relèvent" in others


def test_design_has_header_toc_meta_footer_and_no_external_resources(project: Project) -> None:
    compiled = edition(project).compiled(Variant("fr", frozenset()))
    html = compiled.html.fill(VALUES)
    assert '<html lang="fr"' in html
    assert "Vol. 1 · n° 49 · Semaine du 1er décembre 2025" in html  # French ordinal
    assert "Au sommaire" in html
    for section in compiled.sections:
        assert f'href="#{section.theme.id}"' in html and f'id="{section.theme.id}"' in html
    assert '<a href="https://example.org/news/budgets">Les Alliés relèvent' in html
    assert "Example News · 1 min de lecture" in html
    assert "parce que vous y êtes abonné·e" in html and "75007 Paris" in html
    assert 'href="https://u.example/x"' in html and 'href="https://p.example/y"' in html
    # the hidden preheader div; French spaced punctuation is tied with a no-break space
    assert str(escape(compiled.preheader)) in html.replace("\u00a0", " ")
    for img in re.findall(r"<img\b[^>]*>", html):
        assert re.search(r'\balt="[^"]*"', img), img
    assert not re.search(r'<link\b|src="https?:|url\(https?:|@import', html)
    assert "@media only screen and (max-width:480px)" in html.replace(": ", ":")
    assert "prefers-color-scheme: dark" in html


def test_summary_cuts_at_a_sentence_boundary() -> None:
    text = "First one. Second one! Third one? Fourth one. Fifth."
    assert summary(text) == "First one. Second one! Third one?"
    long = "A sentence. " + "Word " * 100 + "end. Last."
    assert summary(long) == "A sentence."
    assert summary("Le 3 déc. « Rien. » Ensuite ici.").endswith(".")


def test_every_template_string_is_in_every_catalog() -> None:
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
    found = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            REPO / "templates" / "email",
            method_map=[("**.j2", "jinja2.ext:babel_extract")],
            options_map={"**.j2": options},
        )
    }
    found |= set(CODE_MESSAGES)
    assert "Key figures" in found and "In this issue" in found
    for po in sorted((REPO / "templates" / "locale").glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        for message in found:
            entry = catalog.get(message)
            assert entry is not None, f"{po}: missing {message!r}"
            translated = entry.string if isinstance(entry.string, str) else entry.string[0]
            assert translated and not entry.fuzzy, f"{po}: untranslated {message!r}"


def test_a_new_language_is_a_catalog_and_a_config_line(project: Project) -> None:
    fr = project.root / "templates" / "locale" / "fr"
    shutil.copytree(fr, project.root / "templates" / "locale" / "de")
    po = project.root / "templates" / "locale" / "de" / "LC_MESSAGES" / "messages.po"
    po.write_text(
        po.read_text(encoding="utf-8")
        .replace('"Language: fr\\n"', '"Language: de\\n"')
        .replace('msgstr "Au sommaire"', 'msgstr "In dieser Ausgabe"'),
        encoding="utf-8",
    )
    config = project.config.read_text(encoding="utf-8")
    config = config.replace('languages = ["fr", "en"]', 'languages = ["fr", "en", "de"]')
    # theme titles are content, not code: the config gives them per language
    config = re.sub(r'(title = \{ fr = "[^"]*", en = ("[^"]*"))', r"\1, de = \2", config)
    project.config.write_text(config, encoding="utf-8")
    html = edition(project).compiled(Variant("de", frozenset())).html.fill(VALUES)
    assert '<html lang="de"' in html and "In dieser Ausgabe" in html
    assert "1. Dezember 2025" in html  # babel's German date


def test_unrendered_braces_from_a_template_stop_the_build(project: Project) -> None:
    header = project.root / "templates" / "email" / "_header.mjml.j2"
    header.write_text(
        header.read_text(encoding="utf-8").replace(
            "{{ newsletter.name }}", "{% raw %}{{ newsletter.nam }}{% endraw %}", 1
        ),
        encoding="utf-8",
    )
    with pytest.raises(RenderError, match="unrendered"):
        edition(project).compiled(Variant("fr", frozenset()))


def test_build_warns_when_html_nears_gmail_clip(project: Project) -> None:
    body = ("Une phrase assez longue pour remplir le résumé de cette entrée. " * 5) + "\n"
    for n in range(int(_filler_count_for(project, 93 * 1024))):
        project.write_entry(
            f"filler-{n}.md",
            f"---\ntitle: Entrée de remplissage numéro {n} sur les drones\ndate: 2025-12-02\n"
            f"---\n{body}",
        )
    out = str(project.root / "out")
    result = CliRunner().invoke(
        cli, ["--config", str(project.config), "build", "--date", "2025-12-03", "--out", out]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"warning: variant fr:all: HTML is 9\d KB, close to Gmail's clip",
                     result.output)  # fmt: skip


def _filler_count_for(project: Project, target: int) -> float:
    """How many filler entries bring the HTML to about `target` bytes (measured, not guessed)."""
    base = edition(project).compiled(Variant("fr", frozenset())).html_bytes
    probe = project.root / "probe"
    shutil.copytree(project.root, probe, ignore=shutil.ignore_patterns("probe"))
    probe_project = Project(probe)
    body = ("Une phrase assez longue pour remplir le résumé de cette entrée. " * 5) + "\n"
    for n in range(10):
        probe_project.write_entry(
            f"filler-{n}.md",
            f"---\ntitle: Entrée de remplissage numéro {n} sur les drones\ndate: 2025-12-02\n"
            f"---\n{body}",
        )
    with_ten = edition(probe_project).compiled(Variant("fr", frozenset())).html_bytes
    return (target - base) / ((with_ten - base) / 10)


def test_variant_labels_parse_back() -> None:
    ids = ["spending", "ukraine"]
    assert parse_variant("en:all", ("fr", "en"), ids) == Variant("en", frozenset())
    assert parse_variant("fr:ukraine", ("fr", "en"), ids) == Variant("fr", frozenset({"ukraine"}))
    assert parse_variant("fr:spending|ukraine", ("fr", "en"), ids) == Variant("fr", frozenset())
    with pytest.raises(RenderError, match="unknown theme 'nope'"):
        parse_variant("fr:nope", ("fr", "en"), ids)
