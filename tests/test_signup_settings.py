"""[signup]: which lists the public may sign up to; mistakes are one line like every table's."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.settings import SignupSettings, load_settings
from tests.test_foundation_settings import VALID, error_for, write


def test_without_a_signup_table_there_is_no_form(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, VALID)).signup is None


def test_the_signup_table_names_the_public_lists(tmp_path: Path) -> None:
    text = VALID + '\n[signup]\nlists = ["newsletter", "termine"]\nwelcome = true\n'
    assert load_settings(write(tmp_path, text)).signup == SignupSettings(
        ("newsletter", "termine"), welcome=True
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[signup]\nlist = ["newsletter"]', '[signup]: unknown key "list"; did you mean "lists"?'),
        ('[signup]\nlists = ["newsletter"]\nwelcom = true', '[signup]: unknown key "welcom"; did you mean "welcome"?'),
        ("[signup]\nwelcome = true", '[signup]: missing required key "lists" (a list of list names, like ["newsletter"])'),
        ('[signup]\nlists = "newsletter"', '[signup] lists: expected a list of list names, like ["newsletter"], got "newsletter"'),
        ("[signup]\nlists = []", '[signup] lists: expected a list of list names, like ["newsletter"], got a list'),
        ('[signup]\nlists = ["a", "A"]', "[signup] lists: a list is named twice"),
        ('[signup]\nlists = ["Mitglieder"]', '[signup] lists: "mitglieder" is the members\' list (default_list); give the public a list of its own, like ["newsletter"]'),
        ('[signup]\nlists = ["a"]\nwelcome = "yes"', '[signup] welcome: expected true or false, got "yes"'),
    ],
)  # fmt: skip
def test_each_signup_mistake_is_one_line(tmp_path: Path, table: str, message: str) -> None:
    assert error_for(tmp_path, f"{VALID}\n{table}\n") == message
