"""Every benchmark in one run, written up as docs/performance.md with PNG plots.

`python -m bench` (or `make bench`) measures, saves the raw numbers next to the page
(performance/results.json) and writes the page; `--render-only` rewrites the page from
the saved numbers (after `make chaos` refreshed its output); `--themes-only` re-measures
the theme classifier alone (after a keyword change) and rewrites the page. `--tiny` runs miniature
sizes, for the smoke test: the point there is that the whole chain works, not numbers.

Every comparison is a ratio of two things measured in the same run, on the same
machine, minutes apart: the machine is shared and its absolute numbers drift.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import delivery, relay, render, senders, term_unwinds, themes

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "performance.md"
ASSETS = "performance"  # folder next to the page: PNGs, results.json, chaos.txt


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs; FULL for the page, TINY for the smoke test."""

    entries: tuple[int, ...]
    build_repeat: int
    readers_fast: int
    readers_slow: int
    cost_repeat: int
    connections: tuple[int, ...]
    messages_fast: int
    messages_per_connection_slow: int
    send_repeat: int
    list_sizes: tuple[int, ...]
    relay_messages: int
    relay_repeat: int
    relay_port: int
    html_entries: int = 50
    """Entries of the realistic week whose HTML is weighed (Gmail clips at ~102 KB)."""
    senders_readers: int = 5_000
    """`python -m bench senders` alone runs the issue's 100,000 (~40 min on 2 busy cores)."""
    senders_connections: int = 2


FULL = Sizes(
    entries=(10, 50, 100, 250, 500),
    build_repeat=3,
    readers_fast=300,
    readers_slow=10,
    cost_repeat=5,
    connections=(1, 2, 4, 8),
    messages_fast=1000,
    messages_per_connection_slow=100,
    send_repeat=3,
    list_sizes=(1_000, 3_000, 10_000, 30_000, 100_000),
    relay_messages=1000,
    relay_repeat=5,
    relay_port=587,
)
TINY = Sizes(
    entries=(5, 10),
    build_repeat=1,
    readers_fast=10,
    readers_slow=2,
    cost_repeat=1,
    connections=(1, 2),
    messages_fast=20,
    messages_per_connection_slow=5,
    send_repeat=1,
    list_sizes=(100, 200),
    relay_messages=20,
    relay_repeat=1,
    relay_port=0,
    html_entries=5,
    senders_readers=40,
)


# -- measuring -----------------------------------------------------------------------


def _median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def measure_sends(sizes: Sizes, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """digest send against the bare loop, to the local sink, without and with a delay."""
    sends = []
    for delay in (0.0, 0.02):
        for count in sizes.connections:
            messages = (
                sizes.messages_fast if not delay else sizes.messages_per_connection_slow * count
            )
            log(f"send, {count} connection(s), sink delay {delay * 1000:.0f} ms, {messages} msgs")
            runs = [
                delivery.ours_against_bare(count, messages, delay) for _ in range(sizes.send_repeat)
            ]
            sends.append(_median_of(runs))
    return sends


def measure(sizes: Sizes, log: Callable[[str], None] = print) -> dict[str, Any]:
    started = time.perf_counter()
    log(f"HTML bytes of a realistic {sizes.html_entries}-entry week")
    html_size = render.html_sizes(sizes.html_entries)
    log(f"build time for {', '.join(map(str, sizes.entries))} entries")
    builds = render.build_times(sizes.entries, sizes.build_repeat)
    log("per-subscriber message cost, three ways")
    costs = render.message_costs(sizes.readers_fast, sizes.readers_slow, sizes.cost_repeat)
    sends = measure_sends(sizes, log)
    memory = []
    for size in sizes.list_sizes:
        log(f"peak RSS, {size} subscribers")
        memory.append(delivery.rss(size))
    log(f"several senders, {sizes.senders_readers} subscribers (SQLite, PostgreSQL x1, x2)")
    try:
        several: dict[str, Any] | None = senders.run(
            sizes.senders_readers, sizes.senders_connections, log
        )
    except senders.NoPostgres:
        several = None
    log("theme classifier on the labelled set")
    classifier = themes.measure()
    relay_results = relay.measure(sizes.relay_messages, sizes.relay_repeat, log, sizes.relay_port)
    return {
        "senders": several,
        "machine": machine(),
        "sizes": asdict(sizes),
        "relay": relay_results,
        "build": builds,
        "html_size": html_size,
        "message_cost": costs,
        "send": sends,
        "memory": memory,
        "themes": classifier,
        "seconds": time.perf_counter() - started,
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in ("mjml-python", "jinja2", "aiosmtpd", "matplotlib"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "-"
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "-"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": load,
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "versions": versions,
    }


# -- writing -------------------------------------------------------------------------


def plots(results: dict[str, Any], folder: Path) -> list[str]:
    """Four PNGs in `folder`; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, and no GUI toolkit wanted
    from matplotlib import pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    names = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        names.append(name)

    builds = results["build"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot([b["entries"] for b in builds], [b["seconds"] * 1000 for b in builds], "o-")
    ax.set(xlabel="entries in the issue", ylabel="ms (all variants)",
           title=f"Issue build time ({builds[0]['variants']} variants)")  # fmt: skip
    ax.grid(alpha=0.3)
    save(fig, "build_time.png")

    cost = results["message_cost"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    labels = ["ours (factory)", "EmailMessage", "Jinja+MJML\nper subscriber"]
    values = [cost["factory_us"], cost["email_message_us"], cost["compile_each_us"]]
    bars = ax.bar(labels, values, color=["#1f5f8b", "#b8860b", "#8b1f3f"])
    ax.set_yscale("log")
    ax.set_ylim(top=max(values) * 4)  # room for the labels
    ax.bar_label(bars, labels=[f"{v:,.0f} µs" for v in values])
    ax.set(ylabel="µs per subscriber (log)", title="Per-subscriber message cost")
    save(fig, "message_cost.png")

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, delay in zip(axes, (0.0, 20.0), strict=True):
        rows = [s for s in results["send"] if s["delay_ms"] == delay]
        xs = [r["connections"] for r in rows]
        ax.plot(xs, [r["ours_per_s"] for r in rows], "o-", label="digest send")
        ax.plot(xs, [r["bare_per_s"] for r in rows], "s--", label="bare smtplib loop")
        if delay:
            ax.plot(xs, [1000 / delay * x for x in xs], ":", color="grey", label="ideal")
        ax.set(xlabel="connections", ylabel="messages / s",
               title=f"Send throughput, sink {delay:.0f} ms/msg")  # fmt: skip
        ax.set_xticks(xs)
        ax.set_ylim(bottom=0)  # an axis from zero: the gap is the real gap
        ax.grid(alpha=0.3)
        ax.legend()
    save(fig, "send_throughput.png")

    memory = results["memory"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot([m["readers"] for m in memory], [m["rss_peak_mb"] for m in memory], "o-",
            label="peak RSS of the send")  # fmt: skip
    ax.plot([m["readers"] for m in memory], [m["rss_before_mb"] for m in memory], "s--",
            label="RSS before the send")  # fmt: skip
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set(xlabel="subscribers (log)", ylabel="MB", title="Memory of a send (null transport)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    save(fig, "memory.png")
    return names


def headlines(results: dict[str, Any]) -> list[str]:
    """The few ratios the README quotes."""
    cost = results["message_cost"]
    sends = results["send"]
    fast = [s for s in sends if not s["delay_ms"]]
    slow = [s for s in sends if s["delay_ms"]]
    top = max(slow, key=lambda s: s["connections"])
    memory = results["memory"]
    small, large = memory[0], memory[-1]
    classifier = results.get("themes")
    accuracy = (
        [f"theme classifier: {e['accuracy'] * 100:.1f} % right on the {e['total']}-item "
         "labelled set" for e in classifier["evaluations"][:1]]
        if classifier else []
    )  # fmt: skip
    return [
        *relay_headlines(results.get("relay")),
        *accuracy,
        f"per-subscriber message: {cost['email_message_ratio']:.0f}× cheaper than EmailMessage "
        f"from scratch, {cost['compile_each_ratio']:.0f}× cheaper than Jinja + MJML per "
        "subscriber",
        "send throughput against a local sink: "
        f"{min(s['ratio'] for s in fast):.2f}–{max(s['ratio'] for s in fast):.2f} of a bare "
        f"smtplib loop (1–{max(s['connections'] for s in fast)} connections)",
        f"{top['connections']} connections to a sink taking 20 ms a message: "
        f"{top['ours_per_s']:.0f} msg/s, {top['ours_per_s'] / (top['connections'] * 50):.2f} "
        "of the ideal",
        f"peak memory: {small['rss_peak_mb']:.0f} MB at {small['readers']:,} subscribers, "
        f"{large['rss_peak_mb']:.0f} MB at {large['readers']:,}",
        *[
            f"HTML of a {r['entries']:.0f}-entry week ({r['language']}): {r['html_kb']:.0f} KB, "
            f"{r['kb_per_entry']:.2f} KB per entry"
            for r in results.get("html_size") or []
        ],
        *senders_headlines(results.get("senders")),
    ]


def senders_headlines(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
    runs = result["runs"]
    peak = max(p for r in runs for p in r["peak_rss_mb"])
    return [
        f"two senders sharing one PostgreSQL outbox: {result['two_over_one']:.2f}× one sender "
        f"({runs[0]['messages']:,} subscribers, sink taking 20 ms); peak RSS {peak:.0f} MB"
    ]


def _of_ideal(send: dict[str, Any]) -> str:
    """digest's rate against N connections × (1 / the sink's delay); '-' without a delay."""
    if not send["delay_ms"]:
        return "-"
    return f"{send['ours_per_s'] / (send['connections'] * 1000 / send['delay_ms']):.2f}"


LAYOUT_TITLES = {
    "own": "Postfix on a core of its own, the sender on the other(s)",
    "shared": "Postfix and the sender sharing every core",
}
LAYOUT_SHORT = {
    "own": "Postfix on a core of its own (as a relay host)",
    "shared": "Postfix sharing the sender's cores",
}


def relay_headlines(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
    if "skipped" in result:
        return [f"through a real Postfix relay: not measured in this run ({result['skipped']})"]
    out = []
    for layout in relay.measured_layouts(result):
        found = relay.of_layout(result["rows"], layout)
        rows = {(r["dkim"], r["connections"]): r for r in found}
        top = max(r["connections"] for r in found)
        on, off = rows[(True, top)], rows[(False, top)]
        ceiling = {c["connections"]: c["per_s"] for c in relay.of_layout(result["ceiling"], layout)}
        ratio = relay.ratios(result, layout)
        ours_bare = [v for k, v in ratio.items() if k.startswith("ours_bare_")]
        on_off = [ratio[f"dkim_on_off_{c}"] for c in sorted({r["connections"] for r in found})]
        out.append(
            f"through Postfix on loopback, {LAYOUT_SHORT[layout]}, STARTTLS + AUTH: "
            f"{on['ours_per_s']:.0f} msg/s DKIM-signed, {off['ours_per_s']:.0f} unsigned at "
            f"{top} connections (smtp-source ceiling, plain: {ceiling.get(top, 0):.0f}); "
            f"digest / bare smtplib loop {min(ours_bare):.2f}–{max(ours_bare):.2f}, "
            f"DKIM on / off {min(on_off):.2f}–{max(on_off):.2f} (1 and {top} connections)"
        )
    return out


def _relay_layout(result: dict[str, Any], layout: str) -> list[str]:
    rows = relay.of_layout(result["rows"], layout)
    ceiling = {c["connections"]: c["per_s"] for c in relay.of_layout(result["ceiling"], layout)}
    ratio = relay.ratios(result, layout)
    out = [
        f"### {LAYOUT_TITLES[layout]}",
        "",
        "| DKIM | connections | digest send (msg/s) | bare smtplib (msg/s) | digest / bare "
        "| smtp-source ceiling (msg/s) | digest / ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        top = ceiling.get(row["connections"], 0.0)
        kind = f"{'dkim' if row['dkim'] else 'plain'}_{row['connections']}"
        out.append(
            f"| {'on' if row['dkim'] else 'off'} | {row['connections']} "
            f"| {row['ours_per_s']:.0f} | {row['bare_per_s']:.0f} "
            f"| {ratio['ours_bare_' + kind]:.2f} | {top:.0f} "
            f"| {row['ours_per_s'] / top if top else 0:.2f} |"
        )
    counts = sorted({row["connections"] for row in rows})

    def line(label: str, key: str) -> str:
        return f"| {label} | " + " | ".join(f"{ratio[f'{key}_{c}']:.2f}" for c in counts) + " |"

    return [
        *out,
        "",
        "| ratio (target ≥ 0.9) | " + " | ".join(f"{c} conn." for c in counts) + " |",
        "|---|" + "---:|" * len(counts),
        line("digest DKIM on / DKIM off", "dkim_on_off"),
        line("(for reference: bare loop DKIM on / DKIM off)", "bare_dkim_on_off"),
        line("digest / bare, DKIM off", "ours_bare_plain"),
        line("digest / bare, DKIM on", "ours_bare_dkim"),
        "",
    ]


def relay_section(result: dict[str, Any] | None) -> list[str]:
    out = [
        "## Through a real relay (Postfix, STARTTLS + AUTH)",
        "",
        "bench/relay.py against a Postfix on 127.0.0.1 set up by scripts/postfix-lab.sh:",
        "STARTTLS + SASL AUTH on the submission port with a certificate from a private CA",
        "(`[smtp] ca_file`), every message discarded. *digest send*: `pipeline.send` with",
        "its SQLite commit per accept, DKIM (RSA-2048) signed or not. *bare smtplib*: N",
        "threads of one connection each sending the same bytes, pre-built and, with",
        "DKIM on, signed by the same signer just before each is sent, over the same TLS",
        "+ AUTH, with TCP_NODELAY. *smtp-source*: Postfix's own load generator on the",
        "same relay, same message size, plain SMTP without AUTH (it speaks neither): the",
        "ceiling. Targets: DKIM on ≥ 0.9 of DKIM off, digest ≥ 0.9 of the bare loop.",
        "Every cell is run once per turn, next to the others; each ratio is the median",
        "of the ratios of runs of the same turn (the machine's load drifts between",
        "turns), the msg/s columns the median of the runs.",
        "",
        "Two layouts of the machine's cores, taking turns within each turn: Postfix (its",
        "master and every process it forks) pinned to a core of its own and the sender",
        "to the rest, the shape of a real send, where the relay is another host; and both",
        "on every core, as when the relay runs on the sending machine.",
        "",
    ]
    if not result:
        return [*out, "(not measured in this run)", ""]
    if "skipped" in result:
        return [*out, f"Skipped in this run: {result['skipped']}.", ""]
    out += [
        f"Postfix {result['postfix']}, port {result['port']}; {result['rows'][0]['messages']} "
        f"messages of ~{result['message_bytes'] / 1000:.0f} KB per run, median of "
        f"{result['repeat']}; {result.get('cpus', '?')} cores; measured "
        f"{result.get('date', '')} (load average {result.get('load_average', '-')}).",
        "",
    ]
    for layout in relay.measured_layouts(result):
        out += _relay_layout(result, layout)
    out += [
        "Reading it: with Postfix on a core of its own the relay sets the pace, as a",
        "relay host does in production, and the question is whether the sender keeps up",
        "with it on the core it has: rendering, signing and committing each message",
        "while its connections wait on the relay. Sharing the cores, 4 connections",
        "saturate both, and every CPU-millisecond a message costs shows as throughput:",
        "DKIM's RSA-2048 step (~0.22 ms in OpenSSL, the canonicalization ~0.1 ms) costs",
        "the bare loop as much as it costs digest (the reference row), and digest's own",
        "work per message, which the bare loop does not do (rendering the reader's copy,",
        "the commit that makes a resend impossible), is the gap in the last two rows.",
        "",
    ]
    return out


README_START = "<!-- performance:headlines (bench/report.py writes this list; do not edit) -->"
README_END = "<!-- /performance:headlines -->"


def _since(results: dict[str, Any]) -> str:
    """`; measured again since: ...` for the sections re-run alone (--relay-only...)."""
    again = results.get("measured_again") or {}
    if not again:
        return ""
    return "; measured again since: " + ", ".join(f"{k} {v}" for k, v in sorted(again.items()))


def rewrite_readme(readme: Path, results: dict[str, Any]) -> bool:
    """Put the page's headlines between the README's markers; False if it has none."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    block = "\n".join(
        [README_START, f"Measured {results['machine']['date']}{_since(results)}:", "",
         *[f"- {line}" for line in headlines(results)], README_END]
    )  # fmt: skip
    updated = text[:start] + block + text[end + len(README_END) :]
    if updated != text:
        tmp = readme.with_suffix(".md.tmp")
        tmp.write_text(updated, encoding="utf-8")
        tmp.replace(readme)
    return True


def page(results: dict[str, Any], images: list[str], chaos: str) -> str:
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    out = [
        "# Performance",
        "",
        "Written by `make bench` (`python -m bench`, bench/report.py); do not edit by hand.",
        f"Measured {m['date']} in {results['seconds']:.0f} s on {m['cpu']}, {m['cores']} "
        f"cores, shared with other work (load average at the end: {m['load_average']})"
        f"{_since(results)}.",
        f"{m['platform']}; Python {m['python']}, SQLite {m['sqlite']}, {versions}.",
        "",
        "Absolute numbers move with the load on this shared machine; each comparison is a",
        "ratio of two measurements taken in the same run. Times are medians of the repeats",
        "noted in each section. Raw numbers: [results.json](performance/results.json).",
        "",
        "## Headlines",
        "",
        *[f"- {line}" for line in headlines(results)],
        "",
        "## Issue build time against entries",
        "",
        "Every variant of one issue (2 languages × 9 theme sets): Jinja, MJML compile, text,",
        f"skeleton split; median of {results['sizes']['build_repeat']}. Entries are generated",
        "(~700 characters each). The 100 KB Gmail-clip guard is lifted for the benchmark: a",
        "real issue refuses to build once its HTML passes 100 KB (last column).",
        "",
        "| entries | whole issue (ms) | per variant (ms) | HTML of fr:all (KB) |",
        "|---:|---:|---:|---:|",
        *[
            f"| {b['entries']} | {b['seconds'] * 1000:.0f} | {b['ms_per_variant']:.1f} "
            f"| {b['html_kb']:.0f} |"
            for b in results["build"]
        ],
        "",
        "![build time](performance/build_time.png)",
        "",
        "## HTML size of a full week",
        "",
    ]
    sizes = results.get("html_size") or []
    if sizes:
        out += [
            f"The all-themes variant of a realistic {sizes[0]['entries']:.0f}-entry week",
            "(bench/render.py `realistic_week`: titles of 65 to 122 characters, bodies of about",
            "700, real-looking source links, a quarter in the other language), in bytes of",
            "compiled HTML (a count, not a time: the machine's load does not move it).",
            "`digest build` warns above 90 KB and stops above 100 KB; Gmail clips at about",
            "102 KB. One `mj-text` per theme instead of three per entry saves ~660 bytes of",
            "table markup and repeated inline styles per entry.",
            "",
            "| language | entries | HTML (KB) | KB per entry |",
            "|---|---:|---:|---:|",
            *[
                f"| {r['language']} | {r['entries']:.0f} | {r['html_kb']:.1f} "
                f"| {r['kb_per_entry']:.2f} |"
                for r in sizes
            ],
            "",
        ]
    else:
        out += ["(not measured in this run: `make bench`)", ""]
    out += ["## Per-subscriber message cost"]
    c = results["message_cost"]
    out += [
        "",
        f"Final SMTP-ready bytes for one subscriber of a {c['entries']}-entry issue. *Ours*:",
        "the variant is compiled once, then names and signed links are spliced into a",
        "pre-split skeleton. *EmailMessage*: the same filled bodies and headers built with",
        "`email.message.EmailMessage` each time. *Jinja + MJML*: render and compile the",
        "variant for every subscriber (then our factory).",
        "",
        "| way | µs per subscriber | ratio to ours |",
        "|---|---:|---:|",
        f"| ours (factory) | {c['factory_us']:,.0f} | 1 |",
        f"| EmailMessage from scratch | {c['email_message_us']:,.0f} "
        f"| {c['email_message_ratio']:.0f}× |",
        f"| Jinja + MJML compile per subscriber | {c['compile_each_us']:,.0f} "
        f"| {c['compile_each_ratio']:.0f}× |",
        "",
        "![message cost](performance/message_cost.png)",
        "",
        "## Send throughput against a local sink",
        "",
        "`pipeline.send` (render, queue, one SQLite commit per accepted message) against a",
        "bare smtplib loop (N threads, one connection each, messages pre-built), both to a",
        "minimal SMTP sink in another process on 127.0.0.1, a thread per connection",
        "(bench/delivery.py: it reads each DATA in one call and sleeps precisely, so its",
        "own cost stays out of the numbers); with no",
        "delay, and with the sink waiting 20 ms a message (a remote server's latency;",
        "ideal = N × 50 msg/s, target ≥ 0.9 of it up to 8 connections).",
        f"No delay: {results['sizes']['messages_fast']} messages; 20 ms: "
        f"{results['sizes']['messages_per_connection_slow']} messages per connection; "
        f"median of {results['sizes']['send_repeat']}.",
        "",
        "| sink delay | connections | messages | digest send (msg/s) | bare smtplib (msg/s) "
        "| ours / bare | ours / ideal |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {s['delay_ms']:.0f} ms | {s['connections']:.0f} | {s['messages']:.0f} "
            f"| {s['ours_per_s']:.0f} | {s['bare_per_s']:.0f} | {s['ratio']:.2f} "
            f"| {_of_ideal(s)} |"
            for s in results["send"]
        ],
        "",
        "![send throughput](performance/send_throughput.png)",
        "",
        *relay_section(results.get("relay")),
        "## Peak memory against list size",
        "",
        "Peak RSS (VmHWM) of a fresh process that builds a project with N subscribers and",
        "sends the issue through a null transport; rows are read in pages of 500.",
        "",
        "| subscribers | RSS before the send (MB) | peak RSS (MB) |",
        "|---:|---:|---:|",
        *[
            f"| {r['readers']:,} | {r['rss_before_mb']:.0f} | {r['rss_peak_mb']:.0f} |"
            for r in results["memory"]
        ],
        "",
        "![memory](performance/memory.png)",
        "",
    ]
    if "themes" in results:  # results.json saved before the classifier was measured
        out += [*themes.section(results["themes"]), ""]
    out += [
        "## Several senders, one outbox (PostgreSQL)",
        "",
        "bench/senders.py: the same list sent three times to a loopback sink that answers",
        "after 20 ms, by real `digest send` processes: one on SQLite, one on PostgreSQL, two",
        "at once on PostgreSQL claiming rows from the same outbox. Wall time until the last",
        "sender exits (start-up and freezing the list included). Targets: two senders",
        ">= 1.6x one; peak RSS <= 150 MB per process.",
        "",
        *senders_section(results.get("senders")),
        "",
        *full_size_section(),
        "## Crash and fault run (`make chaos`)",
        "",
        "bench/chaos.py: a send to 2,000 subscribers against a local aiosmtpd server that",
        "answers 4xx to 10 % of first attempts, 5xx to 1 % of addresses and drops the",
        "connection now and then, while `digest send` is killed with SIGKILL at random",
        "moments mid-send and restarted until it completes. Target: 0 missing and at most",
        "one duplicate per kill and connection (connections = 1 here: one per kill).",
        "",
    ]
    if chaos.strip():
        out += ["```", chaos.rstrip(), "```"]
    else:
        out += ["(not run yet: `make chaos`)"]
    missing = [name for name in images if f"performance/{name}" not in "\n".join(out)]
    assert not missing, missing
    return "\n".join(out) + "\n"


def full_size_section() -> list[str]:
    """The issue's full size, 100,000 subscribers, run once by hand (it takes ~40 min
    here): `python -m bench senders > docs/performance/senders-100k.txt`."""
    saved = PAGE.parent / ASSETS / "senders-100k.txt"
    if not saved.exists():
        return []
    return ["At the full size (`python -m bench senders`, 100,000 subscribers, run once):",
            "", "```", saved.read_text(encoding="utf-8").rstrip(), "```", ""]  # fmt: skip


def senders_section(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return ["(not run: PostgreSQL is not installed here)"]
    return ["```", *senders.describe(result), "```"]


def write(results: dict[str, Any], page_path: Path, readme: Path | None = None) -> Path:
    folder = page_path.parent / ASSETS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    images = plots(results, folder)
    chaos_file = folder / "chaos.txt"
    chaos = chaos_file.read_text(encoding="utf-8") if chaos_file.exists() else ""
    tmp = page_path.with_suffix(".md.tmp")
    tmp.write_text(page(results, images, chaos), encoding="utf-8")
    tmp.replace(page_path)
    if readme is not None:
        rewrite_readme(readme, results)
    return page_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("--tiny", action="store_true", help="miniature sizes (smoke test)")
    parser.add_argument("--out", type=Path, default=PAGE, help="page to write")
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the page from saved results.json"
    )
    parser.add_argument(
        "--relay-only", action="store_true",
        help="measure the Postfix relay section again, keep the other saved numbers",
    )  # fmt: skip
    parser.add_argument(
        "--send-only", action="store_true",
        help="measure the local-sink send section again, keep the other saved numbers",
    )  # fmt: skip
    parser.add_argument(
        "--themes-only",
        action="store_true",
        help="re-measure the theme classifier only (after a keyword change), keep the rest",
    )
    args = parser.parse_args(argv)
    if args.render_only or args.relay_only or args.send_only or args.themes_only:
        saved = args.out.parent / ASSETS / "results.json"
        results = json.loads(saved.read_text(encoding="utf-8"))
        if args.relay_only or args.send_only:
            results["sizes"] = {**results["sizes"], **asdict(FULL)}
        again = results.setdefault("measured_again", {})
        now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        if args.relay_only:
            with term_unwinds():
                results["relay"] = relay.measure(FULL.relay_messages, FULL.relay_repeat)
            again["relay"] = now
        if args.send_only:
            with term_unwinds():
                results["send"] = measure_sends(FULL)
            again["local-sink sends"] = now
        if args.themes_only:
            again["themes"] = now
        if args.themes_only:
            results["themes"] = themes.measure()
    else:
        with term_unwinds():
            results = measure(TINY if args.tiny else FULL)
    path = write(results, args.out, REPO / "README.md" if args.out == PAGE else None)
    m = results["machine"]
    print(f"wrote {path}")
    print(f"  {m['cpu']}, {m['cores']} cores, load {m['load_average']}; Python {m['python']}, "
          + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))  # fmt: skip
    for line in headlines(results):
        print(f"  {line}")


if __name__ == "__main__":
    main()
