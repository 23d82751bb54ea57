"""Rendering benchmark: a whole issue from 50 entries, then per-subscriber message bytes.

Prints (1) the time to build every variant of one issue (languages x theme sets) and
(2) the per-subscriber cost of final SMTP-ready bytes through the variant's prepared
MessageFactory, against building each message with `email.message.EmailMessage` from
the same filled bodies, both measured in this run. The ratio is what to watch (target
>= 8x); absolute times depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from digest import pipeline
from digest.config import Settings, load_settings
from digest.models import Entry, Subscriber, Variant
from digest.render import variant as variant_module

ROOT = Path(__file__).resolve().parent.parent
DAY = dt.date(2025, 12, 3)
NOW = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)
ENTRIES = 50
READERS = 300
TARGET_RATIO = 8.0


def generated_entries(settings: Settings, count: int = ENTRIES) -> list[Entry]:
    """Entries spread over the themes and the week, each with a realistic body."""
    themes = [t.id for t in settings.themes]
    sentence = (
        "Les Alliés ont annoncé de nouvelles mesures pour renforcer la dissuasion "
        "et la défense sur le flanc est, avec des livraisons prévues avant l'hiver. "
    )
    entries = []
    for n in range(count):
        text = f"Entrée {n}. " + sentence * 6
        entries.append(
            Entry(
                id=f"bench-{n:03d}",
                title=f"Entrée de test {n} : les Alliés & l'industrie <défense>",
                date=DAY - dt.timedelta(days=n % 3),
                language="fr" if n % 2 else "en",
                source_url=f"https://example.org/news/{n}",
                source_name="Example News",
                body_html=f"<p>{text}</p>",
                text=text,
                themes=(themes[n % len(themes)],),
            )
        )
    return entries


_TITLE_WORDS = (
    "Les ministres de la Défense de l'Alliance s'accordent sur un calendrier de livraisons",
    "Allied defence ministers agree on a delivery schedule for air-defence interceptors",
    "pour la défense aérienne du flanc est avant la fin de l'hiver prochain, selon Bruxelles",
    "for the eastern flank before the end of next winter, officials in Brussels say",
)
_BODY = (
    "Réunis à Bruxelles, les ministres ont validé un plan de commandes groupées qui doit "
    "réduire les délais de production et partager les coûts entre Alliés. Les premières "
    "livraisons sont attendues au printemps ; d'autres suivront selon les capacités des "
    "industriels. Plusieurs capitales réclament toutefois des garanties sur le partage "
    "des charges et sur la place des entreprises européennes dans les contrats. Le "
    "secrétaire général a salué « un pas concret », tout en rappelant que l'effort devra "
    "durer plusieurs années. Les parlementaires examineront le financement en janvier, "
    "avant un nouveau point d'étape prévu lors de la réunion de février. Les industriels, "
    "eux, disent attendre des engagements fermes sur plusieurs années pour investir."
)


def realistic_week(settings: Settings, count: int = ENTRIES) -> list[Entry]:
    """A full week as editors write it: titles of 65 to 122 characters, bodies of about
    700 characters, real-looking source links, spread over every theme, both languages,
    a few entries in the other language. The size test and `make bench` use it."""
    themes = [t.id for t in settings.themes]
    entries = []
    for n in range(count):
        length = 65 + (n * 37) % 58  # 65..122, spread
        title = f"{_TITLE_WORDS[n % 2]} {_TITLE_WORDS[2 + n % 2]}"[:length].rstrip()
        text = f"({n}) {_BODY}"[:700]
        entries.append(
            Entry(
                id=f"week-{n:03d}",
                title=title,
                date=DAY - dt.timedelta(days=n % 3),
                language="fr" if n % 4 else "en",
                source_url=f"https://www.example-defence-news.org/europe/2025/12/0{1 + n % 5}/"
                f"allied-ministers-agree-delivery-schedule-{n}",
                source_name="Example Defence News",
                body_html=f"<p>{text}</p>",
                text=text,
                themes=(themes[n % len(themes)],),
            )
        )
    return entries


def html_sizes(count: int = ENTRIES) -> list[dict[str, float]]:
    """HTML bytes of the all-themes variant of a realistic week, per language: total and
    per entry (the send stops above 100 KB, warns above 90 KB)."""
    settings = load_settings(ROOT / "config.toml")
    entries = realistic_week(settings, count)
    edition = pipeline.Edition(
        settings, pipeline.assemble(settings, entries, DAY), pipeline.make_signer(settings), NOW
    )
    rows = []
    for language in settings.newsletter.languages:
        compiled = edition.compiled(Variant(language, frozenset()))
        rows.append({"language": language, "entries": count, "html_kb": compiled.html_bytes / 1024,
                     "kb_per_entry": compiled.html_bytes / 1024 / count})  # fmt: skip
    return rows


def variants(settings: Settings) -> list[Variant]:
    theme_sets: list[frozenset[str]] = [frozenset()]
    theme_sets += [frozenset({t.id}) for t in settings.themes]
    theme_sets += [frozenset(pair) for pair in itertools.combinations(
        [t.id for t in settings.themes][:3], 2)]  # fmt: skip
    return [
        Variant(lang, themes) for lang in settings.newsletter.languages for themes in theme_sets
    ]


def readers(count: int = READERS) -> list[Subscriber]:
    return [
        Subscriber(id=n, email=f"reader{n}@example.org", name=f"Lectrice {n}", language="fr",
                   themes=frozenset())
        for n in range(1, count + 1)
    ]  # fmt: skip


def median_time(func: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def with_email_message(
    edition: pipeline.Edition, variant: Variant, people: list[Subscriber]
) -> list[bytes]:
    """The baseline: the same filled bodies and headers, through EmailMessage each time."""
    compiled = edition.compiled(variant)
    news = edition.settings.newsletter
    out = []
    for person in people:
        links = edition.links(person)
        values = {"name": person.name, **links}
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = news.sender
        message["To"] = formataddr((person.name, person.email))
        message["Subject"] = compiled.subject
        message["Date"] = format_datetime(edition.now)
        message["Message-ID"] = f"<bench.{person.id}@example.org>"
        message["List-Id"] = f"{news.name} <{news.list_id}>"
        message["List-Unsubscribe"] = f"<{links['unsubscribe_url']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(compiled.text.fill(values), cte="quoted-printable")
        message.add_alternative(compiled.html.fill(values), subtype="html",
                                cte="quoted-printable")  # fmt: skip
        out.append(message.as_bytes())
    return out


@contextlib.contextmanager
def gmail_guard_lifted() -> Iterator[None]:
    """Lift the 100 KB Gmail-clip guard so issues past ~60 entries can be timed.

    A real issue that large is refused by `render_variant`; the benchmark only asks
    how build time grows with the entry count.
    """
    saved = variant_module.HTML_MAX_BYTES
    variant_module.HTML_MAX_BYTES = 1 << 40
    try:
        yield
    finally:
        variant_module.HTML_MAX_BYTES = saved


def build_times(sizes: Sequence[int], repeat: int = 3) -> list[dict[str, float]]:
    """Median time to build every variant of one issue, for each entry count."""
    settings = load_settings(ROOT / "config.toml")
    every = variants(settings)
    rows = []
    with gmail_guard_lifted():
        for size in sizes:
            entries = generated_entries(settings, size)

            def build(entries: list[Entry] = entries) -> pipeline.Edition:
                issue = pipeline.assemble(settings, entries, DAY)
                edition = pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)
                for variant in every:
                    edition.compiled(variant)
                return edition

            seconds = median_time(build, repeat)
            one = pipeline.Edition(
                settings, pipeline.assemble(settings, entries, DAY),
                pipeline.make_signer(settings), NOW,
            )  # fmt: skip
            html = one.compiled(Variant(settings.newsletter.language, frozenset()))
            rows.append({"entries": size, "variants": len(every), "seconds": seconds,
                         "ms_per_variant": seconds * 1000 / len(every),
                         "html_kb": html.html_bytes / 1024})  # fmt: skip
    return rows


def message_costs(
    readers_fast: int = READERS, readers_slow: int = 10, repeat: int = 5
) -> dict[str, float]:
    """Per-subscriber cost of final message bytes, three ways, in microseconds.

    `factory`: ours (compile once per variant, splice per subscriber);
    `email_message`: the same filled bodies through EmailMessage each time;
    `compile_each`: Jinja + MJML compile for every subscriber, then our factory. The
    last is slow, so it runs over `readers_slow` subscribers only.
    """
    settings = load_settings(ROOT / "config.toml")
    edition = pipeline.Edition(
        settings,
        pipeline.assemble(settings, generated_entries(settings), DAY),
        pipeline.make_signer(settings),
        NOW,
    )
    variant = Variant(settings.newsletter.language, frozenset())
    edition.factory(variant)  # prepared once per variant, as in a send
    many, few = readers(readers_fast), readers(readers_slow)

    def ours() -> None:
        for person in many:
            edition.message_for(person, variant)

    def baseline() -> None:
        with_email_message(edition, variant, many)

    def compile_each() -> None:
        for person in few:
            fresh = pipeline.Edition(settings, edition.issue, edition.signer, NOW)
            fresh.message_for(person, variant)

    factory = median_time(ours, repeat) / len(many)
    email_message = median_time(baseline, repeat) / len(many)
    each = median_time(compile_each, max(1, repeat // 2)) / len(few)
    return {
        "entries": ENTRIES,
        "factory_us": factory * 1e6,
        "email_message_us": email_message * 1e6,
        "compile_each_us": each * 1e6,
        "email_message_ratio": email_message / factory,
        "compile_each_ratio": each / factory,
    }


def main() -> None:
    settings = load_settings(ROOT / "config.toml")
    entries = generated_entries(settings)
    every = variants(settings)

    def build_issue() -> pipeline.Edition:
        issue = pipeline.assemble(settings, entries, DAY)
        edition = pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)
        for variant in every:
            edition.compiled(variant)
        return edition

    build_time = median_time(build_issue, repeat=3)
    edition = build_issue()
    variant = Variant(settings.newsletter.language, frozenset())
    people = readers()
    edition.factory(variant)  # prepared once per variant, as in a send

    def ours() -> None:
        for person in people:
            edition.message_for(person, variant)

    def baseline() -> None:
        with_email_message(edition, variant, people)

    fast = median_time(ours) / len(people)
    slow = median_time(baseline) / len(people)
    ratio = slow / fast
    html_kb = edition.compiled(variant).html_bytes / 1024
    print(f"render: whole issue, {len(entries)} entries, {len(every)} variants: "
          f"{build_time * 1000:.1f} ms ({build_time * 1000 / len(every):.2f} ms a variant, "
          f"HTML {html_kb:.0f} KB for {variant.label})")  # fmt: skip
    print(f"render: per subscriber, final bytes: factory {fast * 1e6:.0f} us, "
          f"EmailMessage {slow * 1e6:.0f} us")  # fmt: skip
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"render: ratio EmailMessage/factory = {ratio:.1f}x "
        f"({verdict} the {TARGET_RATIO:.0f}x target)"
    )


if __name__ == "__main__":
    main()
