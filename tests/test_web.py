from __future__ import annotations

import urllib.request

from digest.web.app import create_app
from digest.web.server import running
from tests.conftest import Project


def test_app_is_served_over_real_http_on_loopback(project: Project) -> None:
    app = create_app(project.settings())
    with running(app) as base:
        assert base.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            assert response.status == 200
            assert response.read() == b"ok\n"


def test_the_base_url_leads_to_the_subscribe_form(project: Project) -> None:
    with running(create_app(project.settings())) as base:
        response = urllib.request.urlopen(f"{base}/", timeout=5)
        with response:
            assert response.status == 200
            assert response.url == f"{base}/subscribe"
            assert b'name="email"' in response.read()
