"""Summaries: about 60 words, ending at a sentence where one is near; whole without URL."""

from __future__ import annotations

from newsletter.sources.summary import summarise, summarise_html


def sentences(*lengths: int) -> str:
    """Sentences of the given word counts, each word numbered across the text."""
    words, n = [], 0
    for length in lengths:
        for i in range(length):
            n += 1
            words.append(f"Wort{n}" + ("." if i == length - 1 else ""))
    return " ".join(words)


def test_a_summary_ends_at_the_sentence_end_before_sixty_words() -> None:
    summary = summarise(sentences(25, 25, 30, 20))
    assert summary.endswith("Wort50.")
    assert "…" not in summary


def test_a_sentence_end_a_little_after_sixty_words_is_taken_when_none_is_before() -> None:
    summary = summarise(sentences(30, 38, 40))
    assert summary.endswith("Wort68.")


def test_without_a_near_sentence_end_it_is_cut_at_a_word() -> None:
    summary = summarise(sentences(100))
    assert summary.endswith("Wort60 …")


def test_ordinals_and_abbreviations_do_not_end_a_sentence() -> None:
    text = (
        " ".join(f"Wort{n}" for n in range(1, 45))
        + " am 28. November, z. B. Nr. 5 und Abs. 2 Fortsetzung "
        + " ".join(f"Mehr{n}" for n in range(40))
    )
    summary = summarise(text)
    assert summary.endswith(" …")
    assert not summary.endswith(("28.", "B.", "Nr.", "Abs."))


def test_the_issue_20_example_is_no_longer_cut_mid_sentence() -> None:
    text = (
        "Der Kreistag hat über den Radweg beraten. "
        * 8
        + "Zu den nächsten Schritten gehört eine Anhörung im Rathaus, zu der alle kommen "
        "können, die mitreden wollen, und danach der Beschluss."
    )
    summary = summarise(text)
    assert summary.endswith("Radweg beraten.")
    assert not summary.endswith("Zu …")


def test_a_post_without_url_keeps_its_whole_text() -> None:
    text = sentences(80, 80)
    assert summarise(text, whole=True) == text
    assert summarise_html(f"<p>{text}</p>", whole=True) == text


def test_short_text_is_kept() -> None:
    assert summarise("Kurz und gut.") == "Kurz und gut."
