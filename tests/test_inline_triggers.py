"""The trigger-skipping inline stage must give exactly what Python-Markdown's own stage gives."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown.treeprocessors import InlineProcessor

from builder.inline_triggers import TRIGGERS, TriggeredInlineProcessor
from builder.markup import new_markdown

PIECES = ["word", " ", "  \n", "\n", "\n\n", "*", "**", "_", "__", "`", "``", "[", "]", "(", ")", "!",
          "<", ">", "&", "&amp;", "&#42;", ";", "$", "$$", "\\", "\\(", "\\)", "\\[", "\\]", "^", ":",
          "x", "1", "2", "a_b", "http://e.org/x", "<http://e.org>", "<me@e.org>", "<b>", "</b>",
          "[^1]", "[^1]: note", "[ref]: http://e.org", "# ", "## ", "- ", "1. ", "> ", "    ", "|", "---",
          "{: #id }", "{: .c }", "```", "~~~"]
documents = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def stock_markdown():
    md = new_markdown({})
    md.treeprocessors.register(InlineProcessor(md), "inline", 20)
    return md


def convert(md, source: str) -> tuple[str, str]:
    try:
        return md.convert(source), md.toc
    except Exception as error:   # bad TeX: both must fail the same way
        return type(error).__name__, str(error)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_same_html_as_the_stock_inline_processor(source):
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
