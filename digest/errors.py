"""The project's exception tree.

Library code raises these; only the CLI turns them into exit codes. Each message is
meant to be shown to a user as one line, naming the file, line or key at fault.
"""

from __future__ import annotations


class DigestError(Exception):
    """Base of every error a user can cause or fix."""

    exit_code = 1


class ConfigError(DigestError):
    """config.toml is missing, malformed, or holds an invalid value."""

    exit_code = 2


class SourceError(DigestError):
    """An entry or import file cannot be read or is invalid."""


class SubscriberError(DigestError):
    """A subscriber record or import row is invalid."""


class RenderError(DigestError):
    """Templates failed to render or the compiled email breaks a guard."""


class DeliveryError(DigestError):
    """A message could not be handed to the transport."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: 4xx replies, timeouts, dropped connections."""


class ConnectFailedError(TransientDeliveryError):
    """No connection to the server at all (refused, no route, unknown host): before the
    first message of a run goes, a sign the server is down or the settings are wrong
    rather than a flaky moment, and no reason to sit through the retries' backoff."""


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help: 5xx replies, refused recipients."""


class TokenError(DigestError):
    """A signed link token is forged, altered, expired or for another purpose."""

    claim: object | None = None
    """For an expired but authentic token, what it said (a `tokens.Claim`)."""


class NotSentError(DigestError):
    """An automatic send refused to go: too late, or editorial checks failed.

    A distinct exit code lets cron or systemd tell "waits for an editor" from a crash.
    """

    exit_code = 3


class SendBusyError(DigestError):
    """Another process holds the send lock of this issue; try again when it ends."""

    exit_code = 75  # EX_TEMPFAIL: the conventional "try again later" of sysexits.h


class DeliverySetupError(PermanentDeliveryError):
    """The transport itself cannot work (login refused, bad TLS, unwritable folder):
    no recipient is at fault, so the send stops with every unsent row still pending."""


class RecipientRefusedError(PermanentDeliveryError):
    """The server refused this recipient (5xx to RCPT, or a 5.1.x / 5.2.1 status): it
    counts as a hard bounce. Other permanent failures (content, policy) do not."""
