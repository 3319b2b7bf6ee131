"""The README and docs/: every command they show parses with the CLI as it is, every local link leads
somewhere, and the README stays a page a person reads."""

from __future__ import annotations

import re
import shlex

import pytest
import typer

from dmsmig.cli import app
from dmsmig.config.stack import PROJECT_DIR

PAGES = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
LINE_COMMAND = re.compile(r"^(?:\$ )?python -m dmsmig ([^#\n]*)", re.M)  # a line of a code block
SPAN_COMMAND = re.compile(r"`python -m dmsmig ([^`]*)`")  # inline, possibly wrapped over two lines
SYNOPSIS = re.compile(r"[<\[{]|\.\.\.|…|\|")  # a usage synopsis or an elided line, not a runnable command


def commands() -> list[tuple[str, str]]:
    """``(page, arguments)`` of every full command a page shows (a bare command name is a mention)."""
    found = []
    for page in PAGES:
        text = page.read_text().replace("\\\n", " ")
        shown = [m.group(1) for m in LINE_COMMAND.finditer(text)]
        shown += [m.group(1).replace("\n", " ") for m in SPAN_COMMAND.finditer(text)]
        for args in shown:
            args = args.strip()
            if len(args.split()) > 1 and not SYNOPSIS.search(args):
                found.append((page.name, args))
    return found


class Refused(Exception):
    """The CLI refuses the arguments (what it would print as a usage error)."""


def parse(args: list[str]) -> None:
    """Parse ``args`` as the CLI would (options, required values, choices) without running anything.

    Typer's group and commands parse through their own ``make_context``; a usage error is an exception
    with ``format_message`` (typer keeps its click copy private, so the class is not imported)."""
    group = typer.main.get_command(app)
    try:
        name, *rest = args
        parent = group.make_context("dmsmig", [name])
        command = group.get_command(parent, name)
        if command is None:
            raise Refused(f"No such command '{name}'")
        command.make_context(name, rest, parent=parent)
    except Exception as err:
        if hasattr(err, "format_message"):
            raise Refused(err.format_message()) from None
        raise


SHOWN = commands()


def test_the_docs_show_commands():
    assert len(SHOWN) > 30 and {"README.md", "cutover.md", "rehearse.md"} <= {page for page, _ in SHOWN}


@pytest.mark.parametrize(("page", "args"), SHOWN, ids=[f"{p}: {a}" for p, a in SHOWN])
def test_every_command_shown_parses(page, args):
    words = shlex.split(args)
    if "--help" in words:
        return
    try:
        parse(words)
    except Refused as err:
        pytest.fail(f"{page}: python -m dmsmig {args}: {err}")


def test_the_parse_check_refuses_what_the_cli_refuses():
    with pytest.raises(Refused, match="No such option"):
        parse(["plan", "--stak", "prod"])
    with pytest.raises(Refused, match="--stack"):
        parse(["cutover"])  # --stack is required
    parse(["plan", "--stack", "prod", "--json"])


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_local_link_leads_somewhere(page):
    text = re.sub(r"`[^`\n]*`", "", page.read_text())  # code spans hold no links
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:")) or not re.fullmatch(r"[\w./#-]+", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}"
        if anchor and linked.suffix == ".md":
            headings = [
                re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                for h in re.findall(r"^#{1,4} (.*)$", linked.read_text(), re.M)
            ]
            assert anchor in headings, f"{page.name} links to {target}: no such heading"


def test_the_readme_is_a_page_a_person_reads():
    readme = (PROJECT_DIR / "README.md").read_text()
    assert len(readme.splitlines()) < 300
    assert readme.index("pip install -r requirements.txt") < readme.index("python -m dmsmig rehearse --stack sandbox")
    assert "python -m pytest" in readme and "docs/rehearsal-cutover-report.png" in readme
