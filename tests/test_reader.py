"""Reading a post's source file into a `Post`: front matter, dates, URLs, blocks and errors."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from builder.core.errors import Location, SourceError
from builder.core.model import CodeCell, Prose
from builder.source.reader import as_list, read_post
from conftest import make_config

SHANGHAI = ZoneInfo("Asia/Shanghai")


def read(tmp_path: Path, name: str, text: str, **config):
    """Write `posts/<name>` and read it with a config built from `config`."""
    path = tmp_path / "posts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return read_post(tmp_path, path, make_config(**config))


def read_error(tmp_path: Path, name: str, text: str | bytes) -> SourceError:
    path = tmp_path / "posts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_post(tmp_path, path, make_config())
    return caught.value


# front matter


def test_title_tags_and_categories_are_read_from_front_matter(tmp_path):
    post = read(tmp_path, "2017-08-11-linear.md",
                "---\ntitle: Linear regression\ntags: [pytorch, regression]\n"
                "categories: tutorial\n---\nBody\n")
    assert post.title == "Linear regression"
    assert post.path == "posts/2017-08-11-linear.md"
    assert post.get("tags") == ["pytorch", "regression"]
    assert post.get("categories") == "tutorial"
    assert post.get("missing", "default") == "default"


def test_numeric_title_becomes_text(tmp_path):
    post = read(tmp_path, "2017-08-11-x.md", "---\ntitle: 2017\n---\n")
    assert post.title == "2017"


def test_title_defaults_to_the_file_name_slug(tmp_path):
    post = read(tmp_path, "2017-08-11-my-first-post.md", "Just prose.\n")
    assert post.title == "My first post"
    assert post.body_line == 1
    assert post.front_matter == {}


@pytest.mark.parametrize("value, expected", [
    (None, []),
    ("pytorch  regression", ["pytorch", "regression"]),
    ("", []),
    (["pytorch", "deep learning"], ["pytorch", "deep learning"]),
    ([2017, "x"], ["2017", "x"]),
])
def test_as_list_accepts_a_list_or_a_space_separated_string(value, expected):
    assert as_list(value) == expected


# dates, slugs and URLs


def test_date_and_slug_come_from_the_jekyll_file_name(tmp_path):
    post = read(tmp_path, "2017-08-11-my-post.md", "---\ntitle: T\n---\n", timezone="Asia/Shanghai")
    assert post.slug == "my-post"
    assert post.date == datetime(2017, 8, 11, tzinfo=SHANGHAI)
    assert post.date.utcoffset() == timedelta(hours=8)
    assert post.url == "/2017/08/11/my-post.html"


def test_file_name_keeps_its_case_in_the_url_as_in_jekyll(tmp_path):
    post = read(tmp_path, "2017-08-11-Hello_World.markdown", "text\n")
    assert post.slug == "hello-world"                      # names its asset folder
    assert post.url == "/2017/08/11/Hello_World.html"      # Jekyll: Hello_World.html


def test_front_matter_date_overrides_the_file_name(tmp_path):
    post = read(tmp_path, "2017-08-11-x.md", "---\ndate: 2018-01-02\n---\n", timezone="Asia/Shanghai")
    assert post.date == datetime(2018, 1, 2, 0, 0, tzinfo=SHANGHAI)
    assert post.url == "/2018/01/02/x.html"


def test_front_matter_date_with_time_and_no_zone_uses_the_site_timezone(tmp_path):
    post = read(tmp_path, "2017-08-11-x.md", "---\ndate: 2018-01-02 10:30:00\n---\n",
                timezone="Asia/Shanghai")
    assert post.date == datetime(2018, 1, 2, 10, 30, tzinfo=SHANGHAI)
    assert post.date.tzinfo is SHANGHAI


def test_front_matter_date_with_its_own_offset_keeps_it(tmp_path):
    post = read(tmp_path, "2017-08-11-x.md", "---\ndate: 2018-01-02 10:00:00 -05:00\n---\n",
                timezone="Asia/Shanghai")
    assert post.date == datetime(2018, 1, 2, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert post.date.utcoffset() == timedelta(hours=-5)


def test_default_timezone_is_utc(tmp_path):
    post = read(tmp_path, "2017-08-11-x.md", "text\n")
    assert post.date.utcoffset() == timedelta(0)
    assert post.date.tzinfo == ZoneInfo("UTC")


def test_front_matter_date_works_without_a_dated_file_name(tmp_path):
    post = read(tmp_path, "notes.md", "---\ndate: 2020-03-04\n---\n")
    assert post.slug == "notes"
    assert post.url == "/2020/03/04/notes.html"


def test_permalink_in_front_matter_overrides_the_url(tmp_path):
    post = read(tmp_path, "2017-08-11-x.md", "---\npermalink: /linear-regression/\n---\n")
    assert post.url == "/linear-regression/"


def test_permalink_without_leading_slash_gets_one(tmp_path):
    post = read(tmp_path, "2017-08-11-x.md", "---\npermalink: linear-regression/\n---\n")
    assert post.url == "/linear-regression/"


def test_default_permalink_includes_categories(tmp_path):
    post = read(tmp_path, "2017-08-11-my-post.md",
                "---\ncategories: [Deep Learning, PyTorch]\n---\n")
    assert post.url == "/deep-learning/pytorch/2017/08/11/my-post.html"


def test_space_separated_categories_string_is_split_for_the_url(tmp_path):
    post = read(tmp_path, "2017-08-11-my-post.md", "---\ncategories: ml pytorch\n---\n")
    assert post.url == "/ml/pytorch/2017/08/11/my-post.html"


def test_site_permalink_style_pretty(tmp_path):
    post = read(tmp_path, "2017-08-11-my-post.md", "text\n", permalink="pretty")
    assert post.url == "/2017/08/11/my-post/"


# blocks

POST = """\
---
title: Cells
---

Intro line.

```python
x = 1
```

Middle prose.

```bash
pip install torch
```

```text
plain output
```

```python
#| label: loss-curve
#| fig-cap: The loss falls
#| eval: false
#| tags: [raises-exception]
y = x + 1
print(y)
```
Tail.
"""


def test_blocks_split_into_prose_and_cells_with_exact_lines(tmp_path):
    post = read(tmp_path, "2017-08-11-cells.md", POST)
    assert post.body_line == 4
    assert [type(block).__name__ for block in post.blocks] == ["Prose", "CodeCell", "Prose",
                                                               "CodeCell", "Prose"]
    intro, first, middle, second, tail = post.blocks
    assert intro == Prose("\nIntro line.\n", 4)
    assert (first.number, first.fence_line, first.source) == (1, 7, "x = 1")
    assert middle.line == 10
    assert middle.text.startswith("\nMiddle prose.\n\n```bash\npip install torch\n```")
    assert "```text\nplain output\n```" in middle.text
    assert second.fence_line == 21
    assert tail == Prose("Tail.\n", 29)


def test_non_python_fences_stay_inside_prose(tmp_path):
    post = read(tmp_path, "2017-08-11-cells.md", POST)
    assert [cell.number for cell in post.cells] == [1, 2]
    assert all("pip install" not in cell.source for cell in post.cells)


def test_cell_options_are_parsed_and_removed_from_code(tmp_path):
    cell = read(tmp_path, "2017-08-11-cells.md", POST).cells[1]
    assert dict(cell.options) == {"label": "loss-curve", "fig-cap": "The loss falls",
                                  "eval": False, "tags": ["raises-exception"]}
    assert cell.option_line_count == 4
    assert cell.code == "y = x + 1\nprint(y)"
    assert cell.evaluated is False
    assert cell.tags == ("raises-exception",)


def test_markdown_line_maps_cell_lines_to_the_file(tmp_path):
    cell = read(tmp_path, "2017-08-11-cells.md", POST).cells[1]
    lines = (tmp_path / "posts" / "2017-08-11-cells.md").read_text().split("\n")
    assert cell.markdown_line(1) == 22
    assert lines[cell.markdown_line(1) - 1] == "#| label: loss-curve"
    assert lines[cell.markdown_line(5) - 1] == "y = x + 1"
    assert lines[cell.fence_line - 1] == "```python"


def test_cells_are_numbered_one_to_n(tmp_path):
    body = "".join(f"```python\nx = {n}\n```\n\n" for n in range(4))
    post = read(tmp_path, "2017-08-11-n.md", body)
    assert [cell.number for cell in post.cells] == [1, 2, 3, 4]
    assert [cell.fence_line for cell in post.cells] == [1, 5, 9, 13]
    assert post.executes is True


def test_plain_cell_is_evaluated_with_no_options(tmp_path):
    cell = read(tmp_path, "2017-08-11-n.md", "```python\nx = 1\n```\n").cells[0]
    assert dict(cell.options) == {}
    assert cell.evaluated is True
    assert cell.tags == ()
    assert cell.code == "x = 1"


@pytest.mark.parametrize("fence", ["```py", "```python3", "```Python", "~~~python", "```{python}",
                                   "``` python title=\"x\""])
def test_python_fence_variants_are_executed(tmp_path, fence):
    closing = "~~~" if fence.startswith("~") else "```"
    post = read(tmp_path, "2017-08-11-v.md", f"Text\n{fence}\nx = 1\n{closing}\n")
    assert post.blocks == (Prose("Text", 1), CodeCell(1, "x = 1", 2, {}))


def test_python_example_inside_a_longer_fence_stays_prose(tmp_path):
    text = "````markdown\n```python\nx = 1\n```\n````\n"
    post = read(tmp_path, "2017-08-11-v.md", text)
    assert post.cells == ()
    assert post.blocks == (Prose(text, 1),)
    assert post.executes is False


def test_only_unevaluated_cells_means_the_post_does_not_execute(tmp_path):
    post = read(tmp_path, "2017-08-11-v.md", "```python\n#| eval: false\nx = 1\n```\n")
    assert post.executes is False


def test_unknown_cell_option_only_warns(tmp_path):
    with pytest.warns(UserWarning, match=r"^posts/2017-08-11-x\.md:6: unknown cell option `colour` is ignored$"):
        post = read(tmp_path, "2017-08-11-x.md", "---\ntitle: A\n---\n\n```python\n#| colour: red\nx=1\n```\n")
    assert post.cells[0].options == {"colour": "red"}


# errors


def test_invalid_yaml_with_a_tab_reports_the_file_line(tmp_path):
    error = read_error(tmp_path, "x.md", "---\ntitle: A\ntags:\n\t- a\n---\n")
    assert error.where == Location("posts/x.md", 4)
    assert str(error).startswith("posts/x.md:4: invalid YAML in the front matter: found character '\\t'")
    assert str(error).endswith("\n  Hint: Indent with spaces (not tabs) and quote values that contain "
                               "': ' or start with a symbol.")


def test_missing_closing_fence(tmp_path):
    error = read_error(tmp_path, "x.md", "---\ntitle: A\n\nBody\n")
    assert str(error) == ("posts/x.md:1: the front matter has no closing `---`\n"
                          "  Hint: Did you forget the closing `---` line after the YAML block?")


def test_front_matter_that_is_not_a_mapping(tmp_path):
    error = read_error(tmp_path, "x.md", "---\n- a\n---\n")
    assert str(error) == ("posts/x.md:2: the front matter must be `key: value` lines\n"
                          "  Hint: Write one `key: value` per line between the two `---` lines.")


def test_non_utf8_bytes_name_the_line(tmp_path):
    error = read_error(tmp_path, "x.md", b"---\ntitle: A\n---\n\nhi \xff\n")
    assert str(error) == ("posts/x.md:5: the file is not valid UTF-8 (byte 21)\n"
                          "  Hint: Save the file with UTF-8 encoding.")


def test_date_of_the_wrong_type(tmp_path):
    error = read_error(tmp_path, "2017-08-11-x.md", "---\ntitle: A\ndate: tomorrow\n---\n")
    assert str(error) == (
        "posts/2017-08-11-x.md:3: front matter `date` must be a date such as 2017-08-11 or "
        "2017-08-11 10:00:00 +08:00, not 'tomorrow'\n  Hint: Change `date:` in the front matter.")


def test_tags_of_the_wrong_type(tmp_path):
    error = read_error(tmp_path, "2017-08-11-x.md", "---\ntitle: A\ntags: 5\n---\n")
    assert str(error) == ("posts/2017-08-11-x.md:3: front matter `tags` must be a list such as "
                          "[pytorch, regression], not 5\n  Hint: Change `tags:` in the front matter.")


def test_boolean_is_not_accepted_as_a_timeout(tmp_path):
    error = read_error(tmp_path, "2017-08-11-x.md", "---\ntimeout: true\n---\n")
    assert error.where == Location("posts/2017-08-11-x.md", 2)
    assert error.message == "front matter `timeout` must be seconds, a whole number, not True"


def test_unknown_front_matter_key_only_warns(tmp_path):
    with pytest.warns(UserWarning, match=r"^posts/2017-08-11-x\.md:3: unknown front matter key `foo` "
                                         r"\(not used by the theme; available to templates as page\.foo\)$"):
        post = read(tmp_path, "2017-08-11-x.md", "---\ntitle: A\nfoo: 5\n---\n")
    assert post.get("foo") == 5


def test_post_without_any_date(tmp_path):
    error = read_error(tmp_path, "notes.md", "---\ntitle: A\n---\n")
    assert str(error) == ("posts/notes.md: the post has no date\n  Hint: Name the file "
                          "YYYY-MM-DD-title.md or add `date: 2024-01-31` to the front matter.")


def test_file_name_with_an_impossible_date(tmp_path):
    error = read_error(tmp_path, "2017-02-30-x.md", "text\n")
    assert str(error) == ("posts/2017-02-30-x.md: the file name's date 2017-02-30 is not a real date\n"
                          "  Hint: Name posts YYYY-MM-DD-title.md with a valid date.")


def test_unclosed_code_fence_names_the_fence_line(tmp_path):
    error = read_error(tmp_path, "2017-08-11-x.md", "---\ntitle: A\n---\n\ntext\n\n```python\nx=1\n")
    assert str(error) == ("posts/2017-08-11-x.md:7: the code block opened with ``` is never closed\n"
                          "  Hint: Add a closing ``` line.")


def test_unclosed_non_python_fence_is_an_error_too(tmp_path):
    error = read_error(tmp_path, "2017-08-11-x.md", "text\n~~~~bash\nls\n~~~\n")
    assert error.where == Location("posts/2017-08-11-x.md", 2)
    assert error.message == "the code block opened with ~~~~ is never closed"


def test_bad_cell_option_line(tmp_path):
    error = read_error(tmp_path, "2017-08-11-x.md", "---\ntitle: A\n---\n\n```python\n#| label x\nx=1\n```\n")
    assert str(error) == ("posts/2017-08-11-x.md:6: cannot read the cell option `#| label x`\n"
                          "  Hint: Write cell options as `#| key: value`, e.g. `#| label: loss-curve`.")


def test_cell_option_of_the_wrong_type_names_its_line(tmp_path):
    error = read_error(tmp_path, "2017-08-11-x.md", "```python\nx = 0\n```\n```python\n#| eval: false\n#| label: 5\n```\n")
    assert str(error) == ("posts/2017-08-11-x.md:6: cell option `label` has the wrong type: 5\n"
                          "  Hint: Known options: label, fig-cap, fig-alt, fig-format, eval, echo, output, tags, "
                          "chart, collapse.")


def test_fast_yaml_loader_gives_what_the_python_loader_gives():
    from builder.source.frontmatter import load_yaml
    text = ("title: \"A: b\"\ndate: 2020-02-03 10:00:00 +0800\ntags: [a, 1, yes]\nseed: false\n"
            "nested: {x: [1.5, ~, 2020-01-01]}\nexcerpt: >\n  folded\n  text\n")
    assert load_yaml(text) == yaml.safe_load(text)
