"""Text measurement with Noto Sans CJK and wrapping of Chinese and Latin labels."""

from __future__ import annotations

import pytest

from approvalflow.render.text import block_height, fit_text, font_source, measure, wrap

needs_font = pytest.mark.skipif(font_source() == "estimate", reason="Noto Sans CJK is not installed (fonts-noto-cjk)")


@needs_font
def test_cjk_characters_are_one_em_wide() -> None:
    assert measure("审查", 12) == pytest.approx(24.0)  # ideographs are 1000/1000 em in Noto Sans CJK


@needs_font
def test_latin_is_proportional() -> None:
    assert measure("i", 10) < measure("m", 10) < measure("审", 10)


def test_chinese_wraps_between_characters_and_fits() -> None:
    text = "对符合条件的申请不予接收、故意刁难申请人"
    lines = wrap(text, 100, 12)
    assert "".join(lines) == text
    assert len(lines) > 1
    assert all(measure(line, 12) <= 100 for line in lines)


def test_closing_punctuation_never_starts_a_line() -> None:
    for width in range(40, 140, 7):
        lines = wrap("不一次告知需补正的全部内容，多次要求补正。审批全程留痕、电子监察。", width, 12)
        assert all(line[0] not in "，。、" for line in lines)


def test_latin_wraps_between_words() -> None:
    lines = wrap("Check the application documents", 80, 12)
    assert " ".join(lines) == "Check the application documents"
    assert all(not line.startswith(" ") for line in lines)


def test_numbers_stay_with_their_unit() -> None:
    lines = wrap("enforcement-officer · 25个工作日", 90, 10)
    assert any("25个工作日" in line for line in lines)


def test_fit_shrinks_and_then_cuts_with_an_ellipsis() -> None:
    block = fit_text("非常长的环节名称" * 10, 100, 40, 12, 8)
    assert block.size == 8
    assert block.lines[-1].endswith("…")
    assert block.height <= 40 and block.width <= 100
    assert block.height == pytest.approx(block_height(len(block.lines), 8))


def test_words_of_any_alphabet_stay_whole() -> None:
    assert wrap("Rechnung klären", 60, 12) == ["Rechnung", "klären"]  # MIWG C.1.0: never "klä" / "ren"
    assert wrap("审查 Überprüfung", 200, 12) == ["审查 Überprüfung"]
