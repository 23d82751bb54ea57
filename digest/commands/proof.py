"""`digest send --test-to`: the proof path of `digest send`, kept out of issue.py."""

from __future__ import annotations

import click

from digest import pipeline
from digest.config import Settings
from digest.proof import send_proof
from digest.render.variant import parse_variant


def send_test_proof(
    settings: Settings, edition: pipeline.Edition, address: str, label: str | None
) -> None:
    variant = parse_variant(
        label or f"{settings.newsletter.language}:all",
        settings.newsletter.languages,
        [t.id for t in settings.themes],
    )
    message = send_proof(edition, pipeline.make_transport(settings), address, variant)
    click.echo(
        f"proof of issue {edition.issue.key} ({variant.label}) sent to {message.recipient} "
        f"through {settings.delivery.transport}; outbox untouched"
    )
