"""The store on both engines (SQLite file, PostgreSQL database): one parametrized fixture,
the same assertions. Without PostgreSQL the second half skips, unless
DIGEST_REQUIRE_POSTGRES=1."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

import pytest

from digest.errors import SendBusyError
from digest.models import Subscriber
from digest.store import Store, StoreError, SubscriberRecord, Target, feeds, rules
from digest.store.engine import open_engine
from digest.store.locks import issue_lock
from digest.store.migrations import LATEST, MIGRATIONS, Migration, migrate, version

PREVIOUS = 7
"""The schema on main before several senders (rate limits and claims came in step 8)."""


def _sub(email: str, name: str = "", status: str = "active") -> Subscriber:
    return Subscriber(email, name, "en", frozenset(), status=status)


@pytest.fixture
def store(store_target: Target) -> Any:
    with Store(store_target) as opened:
        yield opened


def test_an_empty_store_is_created_at_the_latest_schema(store: Store) -> None:
    assert version(store.db) == LATEST
    assert {"subscribers", "issues", "deliveries", "feed_cache", "feed_items",
            "bounce_events", "rate_limits"} <= set(store.db.tables())  # fmt: skip


def test_a_store_at_the_previous_schema_is_upgraded_keeping_its_rows(
    store_target: Target,
) -> None:
    previous = MIGRATIONS[:PREVIOUS]  # the schema of the release before several senders
    db = open_engine(store_target)
    migrate(db, previous)
    db.execute(
        "INSERT INTO subscribers (email, language, created_at) VALUES ('Old@Example.org', "
        "'en', '2025-01-01T00:00:00+00:00')"
    )
    db.execute("INSERT INTO issues (key, number, volume, created_at) VALUES ('2025-W01',1,1,'x')")
    db.execute(
        "INSERT INTO deliveries (issue_key, subscriber_id, email, updated_at) "
        "VALUES ('2025-W01', 1, 'Old@Example.org', 'x')"
    )
    db.close()
    with Store(store_target) as store:
        assert version(store.db) == LATEST
        assert store.subscriber_by_email("old@example.org") is not None
        claimed = store.claim("2025-W01", "me", 10, 60)
        assert [row.email for row, _ in claimed] == ["Old@Example.org"]


def test_a_failing_migration_leaves_the_store_as_it_was(store_target: Target) -> None:
    db = open_engine(store_target)
    migrate(db, MIGRATIONS[:PREVIOUS])
    broken = Migration(
        sqlite="CREATE TABLE half (x INTEGER); SELECT no_such_function()",
        postgresql="CREATE TABLE half (x INTEGER); SELECT no_such_function()",
    )
    with pytest.raises(Exception, match=r"no_such_function|no such function"):
        migrate(db, (*MIGRATIONS, broken))
    assert version(db) == PREVIOUS
    assert "half" not in db.tables()
    assert "rate_limits" not in db.tables()  # the step before rolled back with it
    db.close()


def test_a_store_newer_than_the_code_is_refused_untouched(store_target: Target) -> None:
    db = open_engine(store_target)
    migrate(db, (*MIGRATIONS, Migration("CREATE TABLE later (x INTEGER)",
                                        "CREATE TABLE later (x INTEGER)")))  # fmt: skip
    db.close()
    with pytest.raises(StoreError, match=rf"schema v{LATEST + 1} is newer .*upgrade digest"):
        Store(store_target)
    db = open_engine(store_target)
    assert version(db) == LATEST + 1
    db.close()


def test_addresses_are_unique_whatever_their_case(store: Store) -> None:
    store.upsert_subscribers([_sub("Ann@Example.org", "Ann")], "test")
    store.upsert_subscribers([_sub("ann@example.ORG", "Anne")], "test")
    assert [s.name for s in store.subscribers()] == ["Anne"]
    found = store.record_by_email("ANN@example.org")
    assert found is not None and found.subscriber.email == "Ann@Example.org"


def test_an_import_never_resubscribes_who_said_no(store: Store) -> None:
    store.upsert_subscribers([_sub("a@example.org"), _sub("b@example.org")], "test")
    a = store.subscriber_by_email("a@example.org")
    assert a is not None and store.unsubscribe(a.id)
    counts = store.import_records(
        [SubscriberRecord(_sub("A@example.org"), status="active"),
         SubscriberRecord(_sub("c@example.org"), status="active")]
    )  # fmt: skip
    assert (counts.added, counts.kept_out) == (1, 1)
    assert store.count_subscribers("unsubscribed") == 1
    assert store.count_subscribers("active") == 2


def test_sign_up_confirm_and_erase(store: Store) -> None:
    record = store.add_pending(_sub("new@example.org", "New"), "form")
    assert record.status == "pending"
    assert store.confirm(record.subscriber.id) and not store.confirm(record.subscriber.id)
    again = store.add_pending(_sub("NEW@example.org", "Stranger"), "form")
    assert again.subscriber.name == "New" and again.status == "active"
    store.freeze_issue("2025-W02", 2, 1, [(again.subscriber, "en")])
    assert store.erase(again.subscriber.id)
    assert store.record(again.subscriber.id) is None
    assert [row.email for row in store.deliveries("2025-W02")] == [""]


def test_a_sign_up_request_nobody_can_confirm_any_more_is_deleted(store: Store) -> None:
    """A stranger may type a name for someone who opted out; once the link's lifetime is
    over the request cannot be confirmed, and the next sign-up deletes it."""
    store.upsert_subscribers([_sub("gone@example.org", "Gone")], "test")
    gone = store.subscriber_by_email("gone@example.org")
    assert gone is not None and store.unsubscribe(gone.id)
    store.add_pending(_sub("gone@example.org", "Typed By A Stranger"), "form", request_hours=48)
    assert store.signup_request(gone.id) is not None
    store.add_pending(_sub("other@example.org"), "form", request_hours=48)
    assert store.signup_request(gone.id) is not None  # still within the link's lifetime
    with store.transaction() as db:
        db.execute("UPDATE signup_requests SET requested_at = '2020-01-01T00:00:00+00:00'")
    store.add_pending(_sub("third@example.org"), "form", request_hours=48)
    assert store.signup_request(gone.id) is None
    assert store.record(gone.id).status == "unsubscribed"  # type: ignore[union-attr]


def _frozen(store: Store, count: int, key: str = "2025-W10") -> list[Subscriber]:
    store.upsert_subscribers([_sub(f"r{i}@example.org") for i in range(count)], "test")
    subs = store.subscribers("active")
    assert store.freeze_issue(key, 10, 1, [(s, "en") for s in subs])
    assert not store.freeze_issue(key, 10, 1, [(s, "en") for s in subs])  # frozen once
    return subs


def test_two_senders_claim_disjoint_rows_until_none_is_left(
    store: Store, store_target: Target
) -> None:
    _frozen(store, 25)
    with Store(store_target) as other:
        seen: list[int] = []
        while True:
            first = store.claim("2025-W10", "a", 4, 60)
            second = other.claim("2025-W10", "b", 4, 60)
            if not first and not second:
                break
            for row, current in first + second:
                assert current is not None and current.email == row.email
                seen.append(row.subscriber_id)
        assert sorted(seen) == sorted(set(seen)) and len(seen) == 25
        assert other.lease_wait("2025-W10", "b") is not None  # a's rows are still leased


def test_a_dead_senders_rows_are_claimed_again_when_its_lease_runs_out(store: Store) -> None:
    _frozen(store, 3)
    taken = store.claim("2025-W10", "dead", 10, 0.0)  # a lease that has already run out
    assert len(taken) == 3
    assert store.lease_wait("2025-W10", "live") == 0.0
    again = store.claim("2025-W10", "live", 10, 60)
    assert [r.subscriber_id for r, _ in again] == [r.subscriber_id for r, _ in taken]
    assert store.claim("2025-W10", "third", 10, 60) == []  # live lease: nobody else


def test_sent_rows_are_never_claimed_and_released_rows_are(store: Store) -> None:
    _frozen(store, 3)
    rows = store.claim("2025-W10", "a", 10, 60)
    store.mark("2025-W10", rows[0][0].subscriber_id, "sent", "<m@x>", "250 ok")
    assert store.renew_claims("2025-W10", "a", 60) == 2
    assert store.release_claims("2025-W10", "a") == 2
    again = store.claim("2025-W10", "b", 10, 60)
    assert [r.subscriber_id for r, _ in again] == [r.subscriber_id for r, _ in rows[1:]]
    assert store.counts("2025-W10") == {"sent": 1, "pending": 2}


def test_the_outbox_indexes_hold_only_what_their_lookups_want(store: Store) -> None:
    # Migration 10: a commit after each accepted message changes half as many pages.
    _frozen(store, 3)
    rows = store.claim("2025-W10", "a", 10, 60)
    assert store.delivery_by_message_id("") is None  # unsent rows have no Message-ID
    store.mark("2025-W10", rows[0][0].subscriber_id, "sent", "<m@x>", "250 ok")
    found = store.delivery_by_message_id("<m@x>")
    assert found is not None and found.subscriber_id == rows[0][0].subscriber_id
    assert len(store.sent_since(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))) == 1
    if store.engine == "sqlite":
        for query, args, index in [
            ("SELECT subscriber_id FROM deliveries WHERE issue_key = ? AND status = 'pending' "
             "AND subscriber_id > ? ORDER BY subscriber_id LIMIT 4", ("2025-W10", 0),
             "deliveries_pending"),
            ("SELECT updated_at FROM deliveries WHERE status = 'sent' AND updated_at >= ?",
             ("2000",), "deliveries_sent_at"),
            ("SELECT * FROM deliveries WHERE message_id = ? AND message_id <> '' LIMIT 1",
             ("<m@x>",), "deliveries_message_id"),
        ]:  # fmt: skip
            plan = store.db.execute("EXPLAIN QUERY PLAN " + query, args).fetchall()
            assert f"INDEX {index}" in " ".join(str(tuple(p)) for p in plan), query


def test_a_bounce_is_counted_once_and_marks_at_the_limit(store: Store) -> None:
    store.upsert_subscribers([_sub("b@example.org")], "test")
    args: dict[str, Any] = {"email": "B@example.org", "kind": "soft", "soft_limit": 2}
    assert store.record_bounce(fingerprint="f1", **args) is None
    before = store.db.total_changes
    assert store.record_bounce(fingerprint="f1", **args) is None
    assert store.db.total_changes == before  # a repeated report changes nothing
    assert store.record_bounce(fingerprint="f2", **args) == "bounced"
    found = store.subscriber_by_email("b@example.org")
    assert found is not None and store.bounce_counts(found.id) == (0, 2)


def test_feed_cache_and_items_published_once(store: Store) -> None:
    store.save_feed_cache("https://x.test/feed", "etag", "", b"\x00body")
    cached = store.feed_cache("https://x.test/feed")
    assert cached is not None and cached.body == b"\x00body"
    assert store.record_feed_items("2025-W01", [("k1", "f", "t"), ("k2", "f", "t")]) == 2
    assert store.record_feed_items("2025-W02", [("k1", "f", "t")]) == 0
    assert store.published_feed_items() == {"k1": "2025-W01", "k2": "2025-W01"}


def test_sanitized_html_is_kept_per_sanitizer_version(store: Store) -> None:
    results = {f"{n:064x}": (f"<p>é {n}</p>", "cut" if n == 2 else "") for n in range(3)}
    store.save_sanitized_html("v1", results)
    keys = [*results, "f" * 64]
    assert store.sanitized_html("v1", keys) == results  # the unknown key is just missing
    assert store.sanitized_html("v2", keys) == {}  # another sanitizer's results never count
    store.save_sanitized_html("v2", {"0" * 64: ("<p>new</p>", "")})
    assert store.sanitized_html("v2", ["0" * 64]) == {"0" * 64: ("<p>new</p>", "")}
    assert store.sanitized_html("v1", ["0" * 64]) == {"0" * 64: results["0" * 64]}
    many = [f"{n:064x}" for n in range(1200)]  # more keys than one statement takes
    assert set(store.sanitized_html("v1", many)) == set(results)


def test_sanitized_html_is_pruned_to_its_bound(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saving never lets the table grow past SANITIZED_KEEP rows; the rows used last stay,
    and rows unused for SANITIZED_DAYS go whatever the count."""
    monkeypatch.setattr(feeds, "SANITIZED_KEEP", 5)
    store.save_sanitized_html("v1", {f"a{n}": ("<p>a</p>", "") for n in range(4)})
    fresh = _last_used(store)
    assert set(store.sanitized_html("v1", ["a0", "a1"])) == {"a0", "a1"}
    assert _last_used(store) == fresh  # read again within the day: nothing written
    _age(store, ["a0", "a1", "a2", "a3"], days=10)
    assert set(store.sanitized_html("v1", ["a0"])) == {"a0"}  # used again: newer than a1-a3
    time.sleep(0.02)
    store.save_sanitized_html("v1", {f"b{n}": ("<p>b</p>", "") for n in range(4)})
    kept = {"a0", "b0", "b1", "b2", "b3"}
    assert set(store.sanitized_html("v1", [f"{x}{n}" for x in "ab" for n in range(4)])) == kept
    for batch in range(5):
        store.save_sanitized_html("v1", {f"c{batch}-{n}": ("<p>c</p>", "") for n in range(4)})
        assert store.sanitized_html_count() == 5
    _age(store, ["c4-0", "c4-1"], days=feeds.SANITIZED_DAYS + 1)
    assert store.prune_sanitized_html() == 2  # unused too long, however few rows there are
    assert store.sanitized_html_count() == 3
    assert store.prune_sanitized_html(keep=1) == 2 and store.sanitized_html_count() == 1


def test_reading_and_pruning_sanitized_html_never_wait_for_another_connection(
    store: Store, store_target: Target
) -> None:
    """Two hosts reading the same feeds: marking rows used and pruning skip the rows
    another connection holds, so neither waits (nor deadlocks) over a cache. On SQLite
    (one writer at a time) reading known bodies writes nothing, so it never needs the
    write lock another connection holds."""
    store.save_sanitized_html("v1", {"held": ("<p>h</p>", ""), "free": ("<p>f</p>", "")})
    if store.engine == "sqlite":
        store.db.execute("PRAGMA busy_timeout = 500")  # a write would fail, not wait
        with Store(store_target) as other, other.transaction() as db:
            db.execute("UPDATE sanitized_html SET note = note WHERE key = 'held'")
            assert set(store.sanitized_html("v1", ["held", "free"])) == {"held", "free"}
        return
    _age(store, ["held", "free"], days=10)
    store.db.execute("SET lock_timeout = '5s'")  # waiting would fail, not hang
    with Store(store_target) as other, other.transaction() as db:
        db.execute("UPDATE sanitized_html SET note = note WHERE key = 'held'")
        started = time.monotonic()
        assert set(store.sanitized_html("v1", ["held", "free"])) == {"held", "free"}
        assert store.prune_sanitized_html(days=1) == 0  # `held` is stale, but held
        assert time.monotonic() - started < 2
    assert store.prune_sanitized_html(days=1) == 1  # `free` was marked used; `held` goes
    assert set(store.sanitized_html("v1", ["held", "free"])) == {"free"}


def _age(store: Store, keys: list[str], days: float) -> None:
    """Make rows look last used `days` ago."""
    marks = ", ".join("?" * len(keys))
    store.db.execute(
        f"UPDATE sanitized_html SET last_used = last_used - ? WHERE key IN ({marks})",
        (days * 86400.0, *keys),
    )


def _last_used(store: Store) -> list[float]:
    return [row[0] for row in store.db.execute("SELECT last_used FROM sanitized_html ORDER BY key")]


def test_limits_are_shared_by_every_connection(store: Store, store_target: Target) -> None:
    with Store(store_target) as other:
        assert store.hit("client:1.2.3.4", 3600, 2)
        assert other.hit("client:1.2.3.4", 3600, 2)
        assert not store.hit("client:1.2.3.4", 3600, 2)
        assert other.hit("client:5.6.7.8", 3600, 2)


def test_a_second_exclusive_issue_lock_is_refused_naming_the_holder(
    store: Store, store_target: Target
) -> None:
    with (
        Store(store_target) as other,
        issue_lock(store, "2025-W10", 0),
        pytest.raises(SendBusyError, match="issue 2025-W10 is being sent by"),
        issue_lock(other, "2025-W10", 0.3, shared=True),
    ):
        pass


def test_shared_senders_on_postgresql_work_together_but_exclude_a_scheduler(
    store: Store, store_target: Target
) -> None:
    if store.engine == "sqlite":  # one host: the flock stays exclusive, shared or not
        with (
            Store(store_target) as second,
            issue_lock(store, "k", 0, shared=True),
            pytest.raises(SendBusyError, match="issue k is being sent by"),
            issue_lock(second, "k", 0.3, shared=True),
        ):
            pass
        return
    with Store(store_target) as second, Store(store_target) as scheduler:
        with (
            issue_lock(store, "k", 0, shared=True),
            issue_lock(second, "k", 0, shared=True),
            pytest.raises(SendBusyError, match=r"digest pid \d+ on "),
            issue_lock(scheduler, "k", 0.3),
        ):
            pass
        with issue_lock(scheduler, "k", 0) as lock:
            lock.share()  # decided: now a helper may join, another scheduler may not
            with issue_lock(store, "k", 0, shared=True):
                pass
            with pytest.raises(SendBusyError), issue_lock(second, "k", 0.2):
                pass
        with issue_lock(second, "k", 0):  # all released
            pass


def test_rules_are_plain_functions() -> None:
    limits = {"hard_limit": 1, "soft_limit": 3, "on_complaint": "complained"}
    assert rules.bounce_status("hard", 1, 0, **limits) == "bounced"
    assert rules.bounce_status("soft", 0, 2, **limits) is None
    assert rules.bounce_status("soft", 0, 3, **limits) == "bounced"
    assert rules.bounce_status("complaint", 0, 0, **limits) == "complained"
    assert rules.bounce_status("complaint", 0, 0, **{**limits, "on_complaint": "ignore"}) is None
    assert rules.may_become("pending") and not rules.may_become("unsubscribed")


def test_a_target_never_shows_a_password() -> None:
    target = Target("postgresql://digest@db.example.org:5433/news", password="s3cret")
    assert target.where == "postgresql://digest@db.example.org:5433/news"
    assert "s3cret" not in repr(dataclasses.replace(target, password=None))


def test_an_erased_address_stays_suppressed_until_its_owner_confirms(store: Store) -> None:
    store.upsert_subscribers([_sub("gone@example.org")], "test")
    gone = store.subscriber_by_email("gone@example.org")
    assert gone is not None
    store.record_bounce(email="gone@example.org", kind="soft", fingerprint="f")
    assert store.erase(gone.id) and store.is_suppressed("GONE@example.org")
    assert store.db.execute("SELECT COUNT(*) FROM bounce_events").fetchone()[0] == 0
    counts = store.import_records([SubscriberRecord(_sub("gone@example.org"))])
    assert counts.kept_out == 1 and store.record_by_email("gone@example.org") is None
    back = store.add_pending(_sub("gone@example.org"), "form")
    assert back.status == "pending" and store.is_suppressed("gone@example.org")
    assert store.confirm(back.subscriber.id)
    assert not store.is_suppressed("gone@example.org")
    assert back.subscriber.id > gone.id  # ids are never reused


def test_archived_variants_keep_the_first_copy(store: Store) -> None:
    from digest.store import ArchivedVariant

    store.freeze_issue("2025-W03", 3, 1, [])
    first = ArchivedVariant("2025-W03", "fr:all", "fr", "Sujet", "Résumé", "<p>é</p>", "é")
    assert store.archive_variant(first)
    assert not store.archive_variant(dataclasses.replace(first, html="<p>later</p>"))
    assert store.archived_variant("2025-W03", "fr:all") == first
    assert store.archived_labels("2025-W03") == {"fr:all"}
    assert store.archived_issue_keys() == {"2025-W03"}


def test_soft_bounces_restart_after_a_delivery_that_got_through(store: Store) -> None:
    store.upsert_subscribers([_sub("soft@example.org")], "test")
    reader = store.subscriber_by_email("soft@example.org")
    assert reader is not None
    for week in ("2025-W01", "2025-W02", "2025-W03"):
        store.freeze_issue(week, int(week[-2:]), 1, [(reader, "fr")])
        store.mark(week, reader.id, "sent", f"<{week}@x>", "250 ok")
    args: dict[str, Any] = {"email": reader.email, "kind": "soft", "soft_limit": 5}
    store.record_bounce(fingerprint="a", issue_key="2025-W01", **args)
    assert store.bounce_counts(reader.id) == (0, 1)
    store.record_bounce(fingerprint="c", issue_key="2025-W03", **args)  # W02 got through
    assert store.bounce_counts(reader.id) == (0, 1)
    counts = store.bounce_counts_by_issue(["2025-W01", "2025-W02"])
    assert counts == {"2025-W01": {"bounced": 1, "complained": 0},
                      "2025-W02": {"bounced": 0, "complained": 0}}  # fmt: skip


def test_two_processes_opening_an_empty_store_at_once_migrate_it_once(
    store_target: Target,
) -> None:
    import threading

    start, errors = threading.Barrier(3), []

    def open_it() -> None:
        start.wait()
        try:
            Store(store_target).close()
        except Exception as exc:  # pragma: no cover - the failure this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db = open_engine(store_target)
    assert version(db) == LATEST
    assert db.execute("SELECT COUNT(*) FROM store_keys").fetchone()[0] == 1
    db.close()
