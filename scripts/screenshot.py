"""Regenerate docs/digest.png: the sample issue in light and dark mode, side by side.

Run `make screenshot` (or `.venv/bin/python scripts/screenshot.py`) from the repository
root; it renders the sample week from briefings/ with config.toml in headless Chromium,
once with `prefers-color-scheme: light` and once with `dark`, and puts the two
pictures next to each other in one, so the README always shows the current templates.
"""

from __future__ import annotations

import argparse
import base64
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
        shots = []
        for scheme in ("light", "dark"):
            page = browser.new_page(
                viewport={"width": args.width, "height": 900}, color_scheme=scheme
            )
            page.set_content(html, wait_until="load")
            shots.append(page.screenshot(full_page=True))
            page.close()
        # Put the two pictures next to each other in a page of their own.
        images = "".join(
            f'<img src="data:image/png;base64,{base64.b64encode(shot).decode()}"'
            ' style="display:block">'
            for shot in shots
        )
        page = browser.new_page(viewport={"width": args.width * 2, "height": 900})
        page.set_content(
            f'<body style="margin:0;display:flex;align-items:flex-start">{images}</body>',
            wait_until="load",
        )
        page.screenshot(path=str(args.out), full_page=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
