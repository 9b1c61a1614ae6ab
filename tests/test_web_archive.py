"""The archive over real HTTP: only with archive = true, only sent issues, nothing personal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsletter.render.build import load_build
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import Greeting, Markers
from newsletter.web.archive import public_html
from newsletter.workspace import Workspace
from tests.web_support import (
    local_client,
    mark_sent,
    render_sample,
    serving,
    web_app,
    with_settings,
)

SLUG = "2026-11"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample issue's folder with its build, rendered once for these tests."""
    return render_sample(tmp_path_factory.mktemp("render"), archive=True)


def test_the_archive_is_404_when_it_is_off(workspace: Workspace, rendered: Path) -> None:
    mark_sent(workspace, rendered, SLUG)
    with serving(web_app(workspace)) as url, local_client(url) as client:
        for path in ("/archiv", f"/archiv/{SLUG}"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert "Seite nicht gefunden" in response.text
            assert load_build(rendered).subject not in response.text


def test_the_archive_lists_sent_issues_only(workspace: Workspace, rendered: Path) -> None:
    workspace = with_settings(workspace, archive=True)
    mark_sent(workspace, rendered, SLUG)
    shutil.copytree(rendered, workspace.issues_dir / "2026-12")  # rendered, never sent
    with serving(web_app(workspace)) as url, local_client(url) as client:
        index = client.get("/archiv")
        unsent = client.get("/archiv/2026-12")
    assert index.status_code == 200
    assert load_build(rendered).subject in index.text
    assert f'href="/archiv/{SLUG}"' in index.text
    assert "verschickt am" in index.text and "26. November 2026" in index.text
    assert "2026-12" not in index.text
    assert unsent.status_code == 404


def test_an_archive_page_is_the_email_without_personal_fields(
    workspace: Workspace, rendered: Path
) -> None:
    workspace = with_settings(workspace, archive=True)
    mark_sent(workspace, rendered, SLUG)
    with serving(web_app(workspace)) as url, local_client(url) as client:
        response = client.get(f"/archiv/{SLUG}")
    page = response.text
    assert response.status_code == 200
    assert page == public_html(load_build(rendered))
    assert '<html lang="de"' in page
    assert ">Hallo,<" in page  # the greeting without a name
    for personal in ("[[", "token", "/abmelden", "Newsletter abbestellen", "Mustermann"):
        assert personal not in page, personal
    assert "Impressum" in page and "Datenschutz" in page  # the rest of the footer stays
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src" not in policy
    assert "img-src 'self' data: newsletter.example.org www.example.org;" in policy


@pytest.mark.parametrize(
    "path",
    ["/archiv/..%2Fnewsletter.toml", "/archiv/.newsletter", "/archiv/%2e%2e", "/archiv/x%00"],
)
def test_odd_archive_addresses_are_404(workspace: Workspace, rendered: Path, path: str) -> None:
    workspace = with_settings(workspace, archive=True)
    mark_sent(workspace, rendered, SLUG)
    with serving(web_app(workspace)) as url, local_client(url) as client:
        assert client.get(path).status_code == 404


def test_public_html_drops_the_link_and_its_separator_and_greets_everyone() -> None:
    m = Markers.new()
    email = RenderedEmail(
        subject="Betreff",
        html=(
            f'<p>{m.greeting}</p><p><a href="https://n.example.org/abmelden?token={m.token}" '
            'style="color:#555">Abbestellen</a> · <a href="https://example.org/impressum">'
            f"Impressum</a></p><p>Link: https://n.example.org/abmelden?token={m.token}</p>"
        ),
        text="",
        greeting=Greeting(named="Hallo {first_name},", anonymous="Hallo <alle>,"),
        markers=m,
    )
    assert public_html(email) == (
        '<p>Hallo &lt;alle&gt;,</p><p><a href="https://example.org/impressum">Impressum</a></p>'
        "<p>Link: </p>"
    )
