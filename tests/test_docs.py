"""docs/ is where the service's behaviour is written down, and code cites it by section.

These checks keep that true: every cited section exists, nothing cites the external reference
the docs replaced, and every page is reachable from the index (docs/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CODE_DIRS = ("gql_users", "resolvers", "tests")
CITING = (*CODE_DIRS, "docs")

# docs/<file>.md#<anchor> in code, comments, tests and pages; README.md#<anchor> (the root one).
DOCS_CITATION = re.compile(r"\bdocs/(?P<file>[\w.-]+\.md)#(?P<anchor>[\w-]+)")
README_CITATION = re.compile(r"(?<![\w/.-])README\.md#(?P<anchor>[\w-]+)")
# A relative markdown link inside docs/: [text](file.md#anchor), [text](#anchor), [text](file.md).
RELATIVE_LINK = re.compile(r"\]\((?P<file>[\w.-]+\.md)?(?:#(?P<anchor>[\w-]+))?\)")
HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")

# The external reference is named here in pieces, so that this file does not cite it either.
FORBIDDEN = (
    "behaviour" + ".md",
    "Part" + " A",
    "B" + " §",
)
FORBIDDEN_PATTERN = re.compile(
    "|".join(re.escape(text) for text in FORBIDDEN) + r"|(?<![\w.])A" + " §"
)


def github_anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped (hyphens and underscores
    kept, as GitHub keeps them), each space a hyphen. ``Birth dates`` -> ``birth-dates``."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors_of(page: Path) -> set[str]:
    """The anchors of every heading of a markdown page (fenced code is not a heading); a
    repeated heading gets GitHub's ``-1``, ``-2`` suffixes."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        heading = HEADING.match(line)
        if in_fence or heading is None:
            continue
        anchor = github_anchor(heading["text"])
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


def text_files(*dirs: str) -> Iterator[Path]:
    for top in dirs:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # images and other binary files cite nothing
        return None


def lines_of(paths: Iterator[Path]) -> Iterator[tuple[str, str]]:
    """``(path:line, text)`` of every line of the text files among ``paths``."""
    for path in paths:
        text = read(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            yield f"{path.relative_to(ROOT)}:{number}", line


def citing_lines() -> Iterator[tuple[str, str]]:
    yield from lines_of(text_files(*CITING))
    yield from lines_of(iter([ROOT / "README.md"]))


def test_github_anchor_follows_githubs_rules() -> None:
    assert github_anchor("Failed logins carry no WWW-Authenticate") == (
        "failed-logins-carry-no-www-authenticate"
    )
    assert github_anchor("`make run`: try it") == "make-run-try-it"
    assert github_anchor("Token expiry and the sliding session") == (
        "token-expiry-and-the-sliding-session"
    )
    assert github_anchor("HEAD answers as GET does") == "head-answers-as-get-does"


def test_every_cited_docs_section_exists() -> None:
    """Every ``docs/<file>.md#<anchor>`` in code, tests, docs and the README names a heading
    of that page, as GitHub renders it; so does every ``README.md#<anchor>``."""
    anchors = {page.name: anchors_of(page) for page in DOCS.glob("*.md")}
    readme_anchors = anchors_of(ROOT / "README.md")
    broken: list[str] = []
    citations = 0
    for where, line in citing_lines():
        for citation in DOCS_CITATION.finditer(line):
            citations += 1
            if citation["anchor"] not in anchors.get(citation["file"], set()):
                broken.append(f"{where}: {citation[0]}")
        for citation in README_CITATION.finditer(line):
            citations += 1
            if citation["anchor"] not in readme_anchors:
                broken.append(f"{where}: {citation[0]}")
    assert citations > 100, "the citation pattern no longer finds the citations"
    assert not broken, "citations of sections that do not exist:\n" + "\n".join(broken)


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda page: page.name)
def test_links_between_docs_pages_resolve(page: Path) -> None:
    """A relative link in a docs page names an existing page and, if any, one of its headings."""
    broken: list[str] = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        for link in RELATIVE_LINK.finditer(line):
            target = DOCS / link["file"] if link["file"] else page
            if not target.is_file():
                broken.append(f"{page.name}:{number}: {link[0]} (no such page)")
            elif link["anchor"] and link["anchor"] not in anchors_of(target):
                broken.append(f"{page.name}:{number}: {link[0]} (no such heading)")
    assert not broken, "\n".join(broken)


def test_nothing_cites_the_external_reference() -> None:
    """Rules are cited from docs/, which is in the repository; the reference they were first
    read from is not, so a citation of it sends a maintainer nowhere."""
    found = [
        f"{where}: {line.strip()}"
        for where, line in lines_of(text_files(*CODE_DIRS))
        if FORBIDDEN_PATTERN.search(line)
    ]
    assert not found, "cite docs/<file>.md#<section> instead:\n" + "\n".join(found)


def test_forbidden_pattern_finds_each_citation_form() -> None:
    for citation in (
        "(behaviour" + ".md B" + " §3.9)",
        "(B" + " §7.14)",
        "(Part" + " A item 3)",
        "(A" + " §11)",
    ):
        assert FORBIDDEN_PATTERN.search(citation), citation
    assert not FORBIDDEN_PATTERN.search("docs/writes.md#email-change (see DATA" + " §2)")


def test_every_docs_page_is_in_the_index() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    linked = {link["file"] for link in RELATIVE_LINK.finditer(index) if link["file"]}
    pages = {page.name for page in DOCS.glob("*.md")} - {"README.md"}
    assert pages, "docs/ has no pages"
    assert not pages - linked, f"docs/README.md does not link {sorted(pages - linked)}"
