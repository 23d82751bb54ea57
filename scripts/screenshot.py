"""Regenerate docs/digest.png: the sample issue as a reader sees it, in headless Chromium.

Run `make screenshot` (or `.venv/bin/python scripts/screenshot.py`) from the repository
root; it renders the sample week from briefings/ with config.toml, so the picture in the
README always shows the current templates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest import pipeline  # noqa: E402
from digest.config import load_settings  # noqa: E402
from digest.models import Variant  # noqa: E402
from tests.browser import chromium  # noqa: E402

SAMPLE_DAY = dt.date(2025, 12, 3)
NOW = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)


def sample_html(config: Path, language: str) -> str:
    settings = load_settings(config)
    issue = pipeline.assemble(settings, pipeline.read_entries(settings), SAMPLE_DAY)
    edition = pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)
    compiled = edition.compiled(Variant(language, frozenset()))
    links = edition.links(pipeline.SAMPLE_READER)
    return compiled.html.fill({"name": "Ana", **links})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.toml")
    parser.add_argument("--language", default="fr")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "digest.png")
    parser.add_argument("--width", type=int, default=640)
    args = parser.parse_args()
    html = sample_html(args.config, args.language)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        page.set_content(html, wait_until="load")
        page.screenshot(path=str(args.out), full_page=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
