"""`digest send --test-to`: the proof path of `digest send`, kept out of issue.py."""

from __future__ import annotations

import click

from digest import pipeline
from digest.config import Settings
from digest.errors import RenderError
from digest.models import Variant
from digest.proof import send_proof
from digest.render.variant import parse_variant
from digest.subscribers import normalize_address


def proof_variant(settings: Settings, address: str, label: str | None) -> Variant:
    """The proof's variant, once `--test-to` and `--variant` are checked. Called before
    the week is read: a bad value is a usage error (exit 2), whatever the week holds."""
    try:
        normalize_address(address, settings.delivery.special_use_domains)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--test-to'") from None
    try:
        return parse_variant(
            label or f"{settings.newsletter.language}:all",
            settings.newsletter.languages,
            [t.id for t in settings.themes],
        )
    except RenderError as exc:
        raise click.BadParameter(str(exc), param_hint="'--variant'") from None


def send_test_proof(
    settings: Settings, edition: pipeline.Edition, address: str, variant: Variant
) -> None:
    message = send_proof(edition, pipeline.make_transport(settings), address, variant)
    click.echo(
        f"proof of issue {edition.issue.key} ({variant.label}) sent to {message.recipient} "
        f"through {settings.delivery.transport}; outbox untouched"
    )
