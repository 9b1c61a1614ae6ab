"""Folders of posts: Markdown with front matter and plain-text page exports."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from newsletter.errors import SourceError
from newsletter.post import Image, Post
from newsletter.settings import SourceSettings, SourceType
from newsletter.sources.contract import PostFile, SourceResult, Unreadable
from newsletter.sources.dates import BERLIN
from newsletter.sources.folder import FolderSource
from newsletter.sources.page_export import read_page_export

from .test_gather_support import POSTS, SITE_URL

# A real page export from the kind of website we serve (a copy of ../shared/reference/).
REFERENCE = (
    Path(__file__).resolve().parent / "fixtures" / "gather" / "reference" / "post-example.txt"
)


def collect(folder: Path) -> SourceResult:
    settings = SourceSettings(type=SourceType.FOLDER, url=None, path=folder, name=None)
    return FolderSource(settings, "posts", SITE_URL).collect()


def by_title(result: SourceResult, start: str) -> Post:
    return next(post for post in result.posts if post.title.startswith(start))


def test_markdown_post_with_every_field() -> None:
    post = by_title(collect(POSTS), "Laternenumzug")
    assert post.id == post.url == "https://www.example.org/aktuelles/laternenumzug"
    assert post.date == datetime(2026, 11, 2, 17, 0, tzinfo=BERLIN)
    assert post.image == Image(
        url="https://www.example.org/bilder/laternen.jpg",
        alt="Kinder mit bunten Laternen vor dem Gemeindehaus",
        caption="Über hundert Laternen leuchteten am Sankt-Martins-Abend.",
    )
    assert post.categories == ("Familie", "Ortsteil Süd")
    assert post.summary.startswith("Mehr als hundert Kinder zogen mit ihren selbst gebastelten")
    assert "<strong>selbst gebastelten Laternen</strong>" in post.body
    assert 'href="https://www.example.org/aktuelles/galerie"' in post.body
    assert "<script" not in post.body and "nicht erlaubt" not in post.body
    assert "onmouseover" not in post.body
    assert post.source == "posts"


def test_markdown_short_forms_german_date_and_relative_url() -> None:
    post = by_title(collect(POSTS), "Wahlkreis-Tour")
    assert post.url == "https://www.example.org/aktuelles/wahlkreis-tour"
    assert post.date == datetime(2026, 11, 6, tzinfo=BERLIN)
    assert post.image == Image(url="https://www.example.org/bilder/wahlkreis.jpg")
    assert post.categories == ("Partei", "Landtag")
    assert post.summary == "Eine kurze, selbst geschriebene Zusammenfassung."


def test_a_post_without_date_or_url_is_kept_undated_with_its_file_as_id() -> None:
    post = by_title(collect(POSTS), "Dauerbrenner")
    assert (post.date, post.url, post.id) == (None, "", "posts/undatiert.md")


def test_unreadable_posts_are_listed_with_the_reason_and_the_rest_still_comes_in() -> None:
    result = collect(POSTS)
    assert result.warnings == ()
    assert list(result.unreadable) == [
        Unreadable(
            "posts/falsches-datum.md",
            'date: "32.13.2026" is not a date; write it like 2026-11-02 or 02.11.2026',
        ),
        Unreadable(
            "posts/kaputt.md",
            'the front matter is not valid YAML at line 2; put a text that contains ": " in quotes',
        ),
        Unreadable(
            "posts/notizen.txt",
            'no date line like "02.11.26 –" below the title, so this is no page export we can read',
        ),
        Unreadable("posts/ohne-titel.md", "no title in the front matter"),
    ]
    assert sorted(post.title for post in result.posts) == [
        "Dauerbrenner ohne Datum",
        "Laternenumzug für alle Kinder im Viertel",
        "Neue Bänke für den Weiherpark",
        "Wahlkreis-Tour: Unsere Abgeordnete zu Gast in Grünau",
    ]  # hidden files and pictures are not posts


def test_page_export_in_the_website_format() -> None:
    post = by_title(collect(POSTS), "Neue Bänke")
    assert post.title == "Neue Bänke für den Weiherpark"
    assert post.date == datetime(2026, 11, 12, tzinfo=BERLIN)
    assert post.url == "" and post.id == "posts/2026-11-12-baenke.txt"
    assert post.categories == ("Fraktion", "Senioren", "Grünflächen")
    assert post.image == Image(
        url="", caption="Auf dem Bild: Stadträtin Grete Müßig (links) mit Anwohnerinnen am Weiher"
    )
    assert post.body.startswith(
        "<p><strong>Ein kleiner Antrag mit großer Wirkung für Ältere</strong></p>"
        "<p>Wer schlecht zu Fuß ist"
    )
    assert "fraktion@beispielstadt.example.org" in post.body
    assert "remove-this" not in post.body
    for dropped in (
        "BÜNDNIS",
        "GRÜNE BEISPIELSTADT",
        "Wir sind für Sie da",
        "Kategorie",
        "Auf dem",
    ):
        assert dropped not in post.body
    assert post.summary.startswith("Wer schlecht zu Fuß ist, braucht unterwegs eine Pause.")


def test_page_export_takes_an_address_only_when_the_file_gives_one() -> None:
    text = (POSTS / "2026-11-12-baenke.txt").read_text(encoding="utf-8")
    given = text.replace(
        "Neue Bänke für den Weiherpark",
        "https://www.example.org/aktuelles/baenke\n\nNeue Bänke für den Weiherpark",
    )
    post = read_page_export(PostFile("posts/b.txt", given, SITE_URL, "posts"))
    assert post.url == post.id == "https://www.example.org/aktuelles/baenke"
    assert post.title == "Neue Bänke für den Weiherpark"


def test_a_page_export_saved_by_windows_notepad(tmp_path: Path) -> None:
    text = (POSTS / "2026-11-12-baenke.txt").read_text(encoding="utf-8")
    (tmp_path / "baenke.txt").write_bytes(text.encode("cp1252"))
    (post,) = collect(tmp_path).posts
    assert post.title == "Neue Bänke für den Weiherpark"
    assert post.image is not None
    assert "Müßig" in post.image.caption


def test_a_missing_folder_is_one_error_naming_the_source(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        collect(tmp_path / "beitraege")
    assert str(caught.value) == (
        f'folder source "posts": {tmp_path / "beitraege"} does not exist; '
        'create the folder or fix "path" of this source in newsletter.toml'
    )


def test_the_reference_page_export(tmp_path: Path) -> None:
    """A real page export, as the website writes it."""
    shutil.copyfile(REFERENCE, tmp_path / "post-example.txt")
    result = collect(tmp_path)
    assert result.warnings == ()
    (post,) = result.posts
    assert post.title == "Integrationsarbeit in Solingen"
    assert post.date == datetime(2023, 6, 30, tzinfo=BERLIN)
    assert post.categories == (
        "Aktuelles",
        "Arbeit und Soziales",
        "Einwanderung und Integration",
        "Fraktion",
        "Jugend und Bildung",
        "Partei",
        "Solingen",
    )
    assert post.url == ""
    assert post.body.startswith("<p><strong>Gönül Eğlence (MdL) besuchte Träger")
    assert post.body.count("<p>") == 6  # the subtitle and five paragraphs
    assert post.body.endswith("kennen zu lernen.</p>")
    assert post.image is not None
    assert post.image.caption.startswith("Auf dem Bild v.l.n.r.: Judith Yazdani (Diakonie)")
    for dropped in ("BÜNDNIS", "Wir sind für Sie da", "remove-this", "Geschäftsstellenteam"):
        assert dropped not in post.body
    # No address: the email is the only place to read it, so the summary is all of it.
    assert post.summary.endswith("kennen zu lernen.") and "…" not in post.summary
    assert len(post.summary.split()) > 300
