"""digest: themed newsletter digests of briefing entries, mailed over SMTP."""

__version__ = "0.1.0"
