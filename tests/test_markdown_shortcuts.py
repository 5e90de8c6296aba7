"""Skipping patterns and block processors that cannot apply must give exactly what stock Python-Markdown gives."""
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from markdown.blockprocessors import BlockProcessor
from markdown.preprocessors import NormalizeWhitespace

from builder.core.patches import normalized_lines, triggered_inline_class
from builder.render.markdown_shortcuts import BLOCK_TRIGGERS, TRIGGERS
from builder.render.markup import CellExtension, configured_markdown, new_markdown

PIECES = ["word", " ", "  \n", "\n", "\n\n", "*", "**", "_", "__", "`", "``", "[", "]", "(", ")", "!",
          "<", ">", "&", "&amp;", "&#42;", ";", "$", "$$", "\\", "\\(", "\\)", "\\[", "\\]", "^", ":",
          "x", "1", "2", "a_b", "http://e.org/x", "<http://e.org>", "<me@e.org>", "<b>", "</b>",
          "[^1]", "[^1]: note", "[ref]: http://e.org", "# ", "## ", "- ", "1. ", "> ", "    ", "|", "---",
          "{: #id }", "{: .c }", "```", "~~~", "=", "===", "-", "***", "___", "| a | b |", "|---|---|",
          "| x |", "a | b", "> ", ">", "#", "###", "]:", "[x]: /u \"t\"",
          "'", '"', "--", "---", "...", "<<", ">>", "'90s", "can't", '"q"', "\"'", "'\"",
          "*[w]: W", ": def", "term\n: def", "<div markdown=\"1\">", "</div>", "  ", "\t", "\\\\[",
          "\\\\]", "{", "}", "{: .c}", "&#2;", "```python"]
lines = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
documents = st.lists(lines, max_size=12).map("\n".join)
TriggeredInlineProcessor = triggered_inline_class()


def stock_markdown():
    return configured_markdown(CellExtension({}), shortcuts=False)


def convert(md, source: str) -> tuple[str, str]:
    try:
        return md.convert(source), md.toc
    except Exception as error:   # bad TeX: both must fail the same way
        return type(error).__name__, str(error)


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
# One document per block trigger, each the least a processor needs, so that every trigger is tried.
@example("| x |\n|---|\n| 1 |")
@example("x\n===\n\ny\n---")
@example("***\n\n___\n\n- - -")
@example(">quote\n\n> quote")
@example("# h\n\n###### h6 #")
@example("Text[^1].\n\n[^1]:note")
@example("[r]\n\n[r]:/u")
@example("\"q\" can't -- --- ... <<a>> '90s")
@example("*[HTML]: Hyper\n\nHTML here")
@example("term\n: definition\n\n    code\n\n- a\n\n  b")
@example("<div markdown=\"1\">\n*in*\n</div>")
@example("\\\\[x^2\\\\]\n\n$$y$$")
@example("# h {: #id }\n\n- a\n{: .c}\n\n```\ncode\n```\n\n~~~\nmore\n~~~")
@example("\"'Quoted' words,\" he said.\n\n'\"x\"'")
def test_same_html_as_stock_python_markdown(source):
    assert convert(new_markdown({}), source) == convert(stock_markdown(), source)


def test_plain_prose_tries_no_pattern(monkeypatch):
    tried = []
    original = TriggeredInlineProcessor._InlineProcessor__applyPattern

    def spy(self, pattern, data, index, start=0):
        tried.append(pattern)
        return original(self, pattern, data, index, start)

    monkeypatch.setattr(TriggeredInlineProcessor, "_InlineProcessor__applyPattern", spy)
    assert new_markdown({}).convert("Plain words, a comma; no markup.") == "<p>Plain words, a comma; no markup.</p>"
    assert tried == []
    new_markdown({}).convert("Some *emphasis* here.")
    assert tried, "text with a trigger character must still go through the patterns"


def test_every_stock_pattern_in_our_markdown_has_triggers():
    md = new_markdown({})
    untriggered = [name for name in (item.name for item in md.inlinePatterns._priority) if name not in TRIGGERS]
    assert untriggered == []


def test_every_typography_pattern_has_triggers():
    smarty = new_markdown({}).treeprocessors["smarty"]
    assert isinstance(smarty, TriggeredInlineProcessor)
    assert [item.name for item in smarty.inlinePatterns._priority if item.name not in TRIGGERS] == []


def test_every_block_trigger_names_a_registered_processor():
    assert set(BLOCK_TRIGGERS) <= set(new_markdown({}).parser.blockprocessors._data)


class TableFromSwap(BlockProcessor):
    """Declines every block, after turning the word "swap" in it into a table."""

    def test(self, parent, block):
        return "swap" in block

    def run(self, parent, blocks):
        blocks[0] = blocks[0].replace("swap", "| a |\n|---|\n| b |")
        return False


def test_a_processor_registered_later_that_changes_the_block_it_declines():
    ours, stock = new_markdown({}), stock_markdown()
    assert ours.convert("plain") == "<p>plain</p>"     # the block plan is made for the first time
    for md in (ours, stock):
        md.parser.blockprocessors.register(TableFromSwap(md.parser), "swap", 100)
    html = ours.convert("swap")
    assert "<table>" in html                           # the table processor was asked after all
    assert html == stock.convert("swap")


def test_block_level_tags_follow_changes_to_the_list():
    md = new_markdown({})
    assert md.is_block_level("DIV") and not md.is_block_level("span")
    md.block_level_elements.append("span")
    assert md.is_block_level("span")
    md.block_level_elements.remove("span")
    md.block_level_elements[md.block_level_elements.index("div")] = "section2"
    assert not md.is_block_level("span") and not md.is_block_level("div") and md.is_block_level("section2")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=" \t\r\n\x02\x03ab", max_size=8), max_size=8))
def test_whitespace_normalized_as_python_markdown_does(lines):
    assert normalized_lines(lines, 4) == NormalizeWhitespace(stock_markdown()).run(lines)
