"""Regenerate docs/desk.png: the editor's desk and preview as `digest preview` serves it.

Run `.venv/bin/python scripts/desk_screenshot.py` from the repository root. It serves the
sample week from briefings/ with config.toml on 127.0.0.1 (port chosen by the OS) for as
long as headless Chromium takes the picture; nothing is written but the PNG.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.config import load_settings  # noqa: E402
from digest.web.app import create_app  # noqa: E402
from digest.web.preview import DAY_KEY, watcher  # noqa: E402
from digest.web.server import running  # noqa: E402
from tests.browser import chromium  # noqa: E402

SAMPLE_DAY = dt.date(2025, 12, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.toml")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "desk.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1600)
    args = parser.parse_args()
    app = create_app(load_settings(args.config), editor=True)
    app.config[DAY_KEY] = SAMPLE_DAY
    try:
        with running(app) as base, chromium() as browser:
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(f"{base}/preview/?variant=fr:all")
            page.wait_for_selector("body[data-frames-ready='1']")
            page.locator("details.edit").first.evaluate("el => el.open = true")
            page.screenshot(path=str(args.out), full_page=False)
    finally:
        watcher(app).stop()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
