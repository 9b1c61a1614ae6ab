"""`newsletter render` as users run it: output, warnings, --strict, --open, and errors
from broken templates as one line with file and line."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from newsletter.cli import app
from newsletter.render.checks import encoded_size
from newsletter.workspace import Workspace
from tests.render_support import SLUG, issue_dir, render_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return render_workspace(tmp_path)


def run(workspace: Workspace, *args: str) -> Result:
    return CliRunner().invoke(app, ["--workspace", str(workspace.root), "render", *args])


def error_line(result: Result) -> str:
    """The one error line on stderr (a notice about created keys may come before it)."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_render_writes_the_build_and_says_where(ws: Workspace) -> None:
    result = run(ws, SLUG)
    assert result.exit_code == 0, result.output
    build = issue_dir(ws) / "build"
    for name in ("email.html", "email.txt", "preview.eml"):
        assert (build / name).is_file()
        assert str(build / name) in result.stdout
    assert result.stdout.startswith(f"Rendered {SLUG}: ")
    # The size Gmail's clip counts, as the size warning measures it.
    html = (build / "email.html").read_text(encoding="utf-8")
    assert f": {encoded_size(html) / 1024:.0f} KB HTML as sent\n" in result.stdout
    assert "Warning" not in result.output


def test_issue_given_as_folder_works_too(ws: Workspace) -> None:
    result = run(ws, str(issue_dir(ws)))
    assert result.exit_code == 0, result.output


def test_unknown_issue_is_one_line_exit_1(ws: Workspace) -> None:
    assert error_line(run(ws, "1999-01")).startswith('Error: no issue "1999-01"')


def test_warnings_are_printed_and_strict_fails(ws: Workspace) -> None:
    issue_md = issue_dir(ws) / "issue.md"
    edit(issue_md, "Was im Kreisverband Musterstadt los war – und was bald ansteht.", "")
    lenient = run(ws, SLUG)
    assert lenient.exit_code == 0, lenient.output
    assert "Warning: issue.md: no preheader" in lenient.stderr
    strict = run(ws, SLUG, "--strict")
    assert error_line(strict).startswith("Error: 1 warning and --strict is on")
    assert "Warning: issue.md: no preheader" in strict.stderr


def test_a_failed_strict_render_leaves_the_previous_build(ws: Workspace) -> None:
    assert run(ws, SLUG).exit_code == 0
    build = issue_dir(ws) / "build"
    before = {path.name: path.read_bytes() for path in build.iterdir()}
    issue_md = issue_dir(ws) / "issue.md"
    edit(issue_md, "Was im Kreisverband Musterstadt los war – und was bald ansteht.", "")
    edit(issue_md, "Newsletter November: Radwege", "Newsletter November (neu): Radwege")
    strict = run(ws, SLUG, "--strict")
    assert error_line(strict).startswith("Error: 1 warning and --strict is on")
    assert "previous build" in strict.stderr
    assert {path.name: path.read_bytes() for path in build.iterdir()} == before


def test_a_failed_strict_render_of_a_new_issue_writes_no_build(ws: Workspace) -> None:
    edit(
        issue_dir(ws) / "issue.md",
        "Was im Kreisverband Musterstadt los war – und was bald ansteht.",
        "",
    )
    assert error_line(run(ws, SLUG, "--strict")).startswith("Error: 1 warning and --strict")
    assert not (issue_dir(ws) / "build").exists()


def test_strict_passes_a_clean_issue(ws: Workspace) -> None:
    assert run(ws, SLUG, "--strict").exit_code == 0


def test_open_shows_the_html_in_the_browser(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    # The one stand-in: no desktop browser in the test run.
    opened: list[str] = []

    def fake_open(url: str, *args: object, **kwargs: object) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    result = run(ws, SLUG, "--open")
    assert result.exit_code == 0, result.output
    assert opened == [(issue_dir(ws) / "build" / "email.html").as_uri()]


def test_jinja_syntax_error_names_file_and_line(ws: Workspace) -> None:
    template = ws.templates_dir / "partials" / "teaser.mjml"
    edit(template, "{{ post.summary }}", "{{ post.summary | shorten }}")
    lines = template.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "| shorten" in text)
    message = error_line(run(ws, SLUG))
    assert message == f"Error: {template}, line {line}: No filter named 'shorten'."


def test_unclosed_jinja_tag_is_a_one_line_error(ws: Workspace) -> None:
    template = ws.templates_dir / "partials" / "teaser.mjml"
    edit(template, "{% if post.date %}", "{% if post.date %")
    assert error_line(run(ws, SLUG)).startswith(f"Error: {template}, line ")


def test_undefined_variable_names_file_and_line(ws: Workspace) -> None:
    template = ws.templates_dir / "email.mjml"
    edit(template, "{{ newsletter.name }}</a></mj-text>", "{{ newsletter.nmae }}</a></mj-text>")
    lines = template.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "newsletter.nmae" in text)
    message = error_line(run(ws, SLUG))
    assert message.startswith(f"Error: {template}, line {line}: ")
    assert "has no attribute 'nmae'" in message


def test_missing_text_key_in_a_macro_names_the_partial(ws: Workspace) -> None:
    edit(ws.templates_dir / "texts" / "de.toml", 'read_more = "Weiterlesen"\n', "")
    message = error_line(run(ws, SLUG))
    assert message.startswith(f"Error: {ws.templates_dir / 'partials' / 'teaser.mjml'}, line ")
    assert "read_more" in message


def test_unknown_mjml_tag_names_file_and_line(ws: Workspace) -> None:
    template = ws.templates_dir / "email.mjml"
    edit(template, "<mj-divider ", "<mj-devider ")
    lines = template.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "<mj-devider" in text)
    message = error_line(run(ws, SLUG))
    assert message.startswith(f"Error: {template}, line {line}: unknown MJML tag <mj-devider>")


def test_missing_template_says_which(ws: Workspace) -> None:
    (ws.templates_dir / "partials" / "teaser.mjml").unlink()
    missing = ws.templates_dir / "partials" / "teaser.mjml"
    assert error_line(run(ws, SLUG)).startswith(f"Error: template {missing} not found")


def test_bad_date_format_is_a_template_error(ws: Workspace) -> None:
    edit(ws.templates_dir / "texts" / "de.toml", 'date_format = "d. MMMM y"', "date_format = 3")
    message = error_line(run(ws, SLUG))
    assert message.startswith(f"Error: {ws.templates_dir / 'email.mjml'}, line ")


def test_greeting_without_placeholder_is_refused(ws: Workspace) -> None:
    texts = ws.templates_dir / "texts" / "de.toml"
    edit(texts, 'greeting = "Hallo {first_name},"', 'greeting = "Hallo zusammen,"')
    message = error_line(run(ws, SLUG))
    assert message.startswith(f"Error: {texts}: greeting: expected a text with {{first_name}}")


def test_broken_theme_toml_names_the_file(ws: Workspace) -> None:
    theme = ws.templates_dir / "theme.toml"
    edit(theme, 'brand = "#005437"', "brand = #005437")
    assert error_line(run(ws, SLUG)).startswith(f"Error: {theme}: not valid TOML")


def test_render_help_has_an_example() -> None:
    result = CliRunner().invoke(app, ["render", "--help"])
    assert result.exit_code == 0
    assert "Example: newsletter render 2026-11" in result.stdout


def test_an_issue_with_no_posts_and_no_editorial_is_refused_in_one_line(ws: Workspace) -> None:
    issue_md = issue_dir(ws) / "issue.md"
    text = issue_md.read_text(encoding="utf-8")
    head = text[: text.index("posts:")]
    issue_md.write_text(head + "posts: []\n---\n\n", encoding="utf-8")
    message = error_line(run(ws, SLUG))
    assert message == (
        f"Error: issue {SLUG} has no posts and no editorial, so there is nothing to send; "
        "write an editorial below the front matter of issue.md, or gather posts into it"
    )
    assert not (issue_dir(ws) / "build").exists()
