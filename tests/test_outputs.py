import pytest

from builder.formats.outputs import (
    clean_text_output,
    collapse_carriage_returns,
    strip_ansi,
    truncate_output,
)


def note(amount: str) -> str:
    return f"... [{amount} cut: output too long; run the tutorial to see all of it] ..."


# strip_ansi

COLOURED_TRACEBACK = (
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
    "\x1b[0;31mZeroDivisionError\x1b[0m                         Traceback (most recent call last)\n"
    "Cell \x1b[0;32mIn[1], line 1\x1b[0m\n"
    "\x1b[0;32m----> 1\x1b[0m \x1b[38;5;241m1\x1b[39m\x1b[38;5;241m/\x1b[39m\x1b[38;5;241m0\x1b[39m\n"
    "\n"
    "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"
)

PLAIN_TRACEBACK = (
    "---------------------------------------------------------------------------\n"
    "ZeroDivisionError                         Traceback (most recent call last)\n"
    "Cell In[1], line 1\n"
    "----> 1 1/0\n"
    "\n"
    "ZeroDivisionError: division by zero"
)


def test_strip_ansi_removes_colours_from_traceback():
    assert strip_ansi(COLOURED_TRACEBACK) == PLAIN_TRACEBACK


def test_strip_ansi_removes_24_bit_colour_and_bold():
    assert strip_ansi("\x1b[1m\x1b[38;2;255;0;0mred\x1b[m") == "red"


def test_strip_ansi_removes_cursor_and_erase_sequences():
    assert strip_ansi("\x1b[2K\x1b[1Gok\x1b[?25h") == "ok"


def test_strip_ansi_removes_osc_ended_by_bel():
    assert strip_ansi("\x1b]0;window title\x07done") == "done"


def test_strip_ansi_removes_osc_hyperlink_ended_by_st():
    text = "see \x1b]8;;https://pytorch.org\x1b\\PyTorch\x1b]8;;\x1b\\ docs"
    assert strip_ansi(text) == "see PyTorch docs"


def test_strip_ansi_removes_short_escapes():
    assert strip_ansi("\x1b(Bx\x1b=y") == "xy"


def test_strip_ansi_keeps_plain_brackets_and_unicode():
    text = "[1/3] loss=0.5 ✓ ▏█"
    assert strip_ansi(text) == text


# collapse_carriage_returns

TQDM_OUTPUT = (
    "  0%|          | 0/3 [00:00<?, ?it/s]"
    "\r 33%|███▎      | 1/3 [00:00<00:00,  9.98it/s]"
    "\r100%|██████████| 3/3 [00:00<00:00, 29.90it/s]"
    "\r100%|██████████| 3/3 [00:00<00:00, 29.88it/s]\n"
)


def test_progress_bar_keeps_only_final_state():
    assert collapse_carriage_returns(TQDM_OUTPUT) == "100%|██████████| 3/3 [00:00<00:00, 29.88it/s]\n"


def test_progress_bars_on_separate_lines_each_keep_final_state():
    text = "epoch 1: 10%\repoch 1: 100%\nepoch 2: 10%\repoch 2: 100%\n"
    assert collapse_carriage_returns(text) == "epoch 1: 100%\nepoch 2: 100%\n"


def test_shorter_text_overwrites_only_the_start_of_the_line():
    assert collapse_carriage_returns("hello\rhi") == "hillo"


def test_crlf_is_a_newline():
    assert collapse_carriage_returns("line 1\r\nline 2\r\n") == "line 1\nline 2\n"


def test_repeated_carriage_returns_before_newline_are_a_newline():
    assert collapse_carriage_returns("a\r\r\nb") == "a\nb"


def test_trailing_carriage_return_keeps_the_line():
    assert collapse_carriage_returns("50%\r") == "50%"


def test_backspace_deletes_previous_character():
    assert collapse_carriage_returns("abc\b\bx") == "ax"


def test_backspace_stops_at_start_of_line():
    assert collapse_carriage_returns("a\n\b\bb") == "a\nb"


def test_text_without_control_characters_is_unchanged():
    text = "no progress here\n  indented\n"
    assert collapse_carriage_returns(text) == text


# truncate_output


def numbered_lines(count: int) -> str:
    return "".join(f"line {i}\n" for i in range(count))


def test_short_text_is_unchanged():
    text = "loss: 0.25\naccuracy: 0.91\n"
    assert truncate_output(text) == text


def test_300000_lines_keep_head_and_tail_with_note():
    result = truncate_output(numbered_lines(300_000))
    lines = result.split("\n")
    assert len(lines) == 402  # 200 + note + 200, then "" after the final newline
    assert lines[:2] == ["line 0", "line 1"]
    assert lines[199:202] == ["line 199", note("299,600 lines"), "line 299800"]
    assert lines[-2:] == ["line 299999", ""]


def test_exactly_max_lines_is_unchanged():
    text = "1\n2\n3\n4\n"
    assert truncate_output(text, max_lines=4, head=2, tail=1) == text


def test_one_line_over_max_lines_is_cut():
    text = "1\n2\n3\n4\n5\n"
    expected = "1\n2\n" + note("2 lines") + "\n5\n"
    assert truncate_output(text, max_lines=4, head=2, tail=1) == expected


def test_single_cut_line_is_singular():
    text = "1\n2\n3\n4\n5\n"
    expected = "1\n2\n" + note("1 line") + "\n4\n5\n"
    assert truncate_output(text, max_lines=4, head=2, tail=2) == expected


def test_text_without_final_newline_keeps_none():
    text = "1\n2\n3\n4\n5"
    expected = "1\n2\n" + note("2 lines") + "\n5"
    assert truncate_output(text, max_lines=4, head=2, tail=1) == expected


def test_no_tail_ends_with_note():
    expected = "1\n" + note("2 lines") + "\n"
    assert truncate_output("1\n2\n3\n", max_lines=2, head=1, tail=0) == expected


def test_no_head_starts_with_note():
    expected = note("2 lines") + "\n3"
    assert truncate_output("1\n2\n3", max_lines=2, head=0, tail=1) == expected


def test_1000000_character_line_is_cut_to_max_chars():
    text = "a" * 500_000 + "b" * 500_000
    expected = "a" * 100_000 + "\n" + note("800,000 characters") + "\n" + "b" * 100_000
    assert truncate_output(text) == expected


def test_exactly_max_chars_is_unchanged():
    assert truncate_output("abcdefghij", max_chars=10) == "abcdefghij"


def test_one_character_over_max_chars_is_cut():
    expected = "abcde\n" + note("1 character") + "\nghijk"
    assert truncate_output("abcdefghijk", max_chars=10) == expected


def test_long_lines_over_both_limits_get_one_character_note():
    text = "".join(f"{i:04d}" + "x" * 1495 + "\n" for i in range(2000))
    expected = text[:100_000] + "\n" + note("2,800,000 characters") + "\n" + text[-100_000:]
    assert truncate_output(text) == expected


def test_line_aligned_character_cut_reports_lines():
    text = "".join(f"{i % 1000:03d}" + "x" * 996 + "\n" for i in range(2000))
    expected = text[:100_000] + note("1,800 lines") + "\n" + text[-100_000:]
    assert truncate_output(text) == expected


def test_character_cut_keeps_short_head_lines_whole():
    head = "".join(f"short {i}\n" for i in range(5))
    text = head + "".join(f"short {i}\n" for i in range(5, 290)) + ("y" * 49_998 + "\n") * 10
    cut = len(text) - len(head) - 100_000
    expected = head + note(f"{cut:,} characters") + "\n" + text[-100_000:]
    assert truncate_output(text, max_lines=100, head=5, tail=5) == expected


@pytest.mark.parametrize(
    "limits",
    [
        {"max_lines": 10, "head": 6, "tail": 5},
        {"head": -1},
        {"max_chars": -1},
    ],
)
def test_inconsistent_limits_raise(limits):
    with pytest.raises(ValueError, match="head \\+ tail <= max_lines"):
        truncate_output("text", **limits)


# clean_text_output


def test_clean_strips_colours_before_collapsing_progress():
    text = "\x1b[32m 50%\x1b[0m\r\x1b[32m100%\x1b[0m\r\n"
    assert clean_text_output(text) == "100%\n"


def test_clean_traceback():
    assert clean_text_output(COLOURED_TRACEBACK) == PLAIN_TRACEBACK


def test_clean_truncates_after_collapsing():
    # 360,000 characters of progress updates collapse to one short line.
    text = "".join(f"\rstep {i:06d}" for i in range(30_000)) + "\n"
    assert clean_text_output(text) == "step 029999\n"


def test_clean_truncates_after_stripping_escapes():
    text = "\x1b[0m" * 60_000 + "done\n"
    assert clean_text_output(text) == "done\n"


def test_clean_truncates_long_output():
    result = clean_text_output(numbered_lines(1500))
    assert result.split("\n")[199:202] == ["line 199", note("1,100 lines"), "line 1300"]


def test_clean_leaves_short_plain_text_unchanged():
    text = "Epoch 1: loss 0.5\n"
    assert clean_text_output(text) == text
