"""Link tokens keep itsdangerous's format: links already in inboxes keep working."""

from __future__ import annotations

import random

from itsdangerous import URLSafeTimedSerializer

from digest.tokens import Signer

KEY = "t" * 40


def test_tokens_load_with_stock_itsdangerous_and_old_tokens_load_with_ours() -> None:
    signer = Signer(KEY)
    rng = random.Random(2920)
    for case in range(300):
        subscriber_id = rng.randrange(1, 10**9)
        email = f"r{rng.randrange(10**6)}@example.org"
        state = rng.choice(["", "pending", "unsubscribed"])
        for purpose in ("unsubscribe", "preferences", "confirm"):
            stock = URLSafeTimedSerializer(KEY, salt=f"digest.{purpose}")
            ours = signer.sign(purpose, subscriber_id, email, state)
            expected = [subscriber_id, signer.address_hash(email)] + ([state] if state else [])
            assert stock.loads(ours) == expected
            old = stock.dumps(expected)
            assert ours.startswith(".") == old.startswith(".")  # compressed when it pays
            claim = signer.verify(purpose, old)
            assert (claim.subscriber_id, claim.address_hash, claim.state) == (
                subscriber_id, signer.address_hash(email), state,
            )  # fmt: skip
        if case % 50 == 0:  # a payload that does compress loads with stock too
            made = signer.sign("confirm", 7, email, "ab" * 40)
            assert made.startswith(".")
            assert URLSafeTimedSerializer(KEY, salt="digest.confirm").loads(made) == [
                7, signer.address_hash(email), "ab" * 40,
            ]  # fmt: skip
