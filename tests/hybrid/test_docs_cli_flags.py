"""Every ``hybrid <command> --flag`` that README.md and docs/*.md show exists in that command's parser,
and every ``--flag`` they mention exists in some command (or is another tool's, listed here)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from hybrid.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# flags the pages give to other programs: mkdocs, pip, AlphaZero's and OpenSpiel's own scripts
OTHER_TOOLS = {"--strict", "--index-url", "--game", "--games"}


def _commands() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    def children(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    out = {}
    for name, sub in children(build_parser()).items():
        out[(name,)] = sub
        for name2, sub2 in children(sub).items():
            out[(name, name2)] = sub2
    return out


COMMANDS = _commands()


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def _command_lines(text: str) -> list[tuple[int, str]]:
    """``hybrid ...`` invocations, continuation lines (``\\``) joined, with their line numbers."""
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        start, line = i + 1, lines[i]
        while line.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line.rstrip()[:-1] + " " + lines[i]
        out.append((start, line))
        i += 1
    return out


CASES = [
    pytest.param(page, lineno, line, id=f"{page.name}:{lineno}")
    for page in PAGES
    for lineno, line in _command_lines(page.read_text(encoding="utf-8"))
    if re.search(r"\bhybrid (list|compare|report|plan|reproduce)\b", line)
]


def test_pages_show_commands():
    assert len(CASES) > 20


@pytest.mark.parametrize(("page", "lineno", "line"), CASES)
def test_each_shown_flag_belongs_to_its_command(page, lineno, line):
    for match in re.finditer(r"\bhybrid ((?:reproduce [a-z-]+)|list|compare|report|plan)\b([^`|#]*)", line):
        command = tuple(match.group(1).split())
        assert command in COMMANDS, f"{page.name}:{lineno}: no command 'hybrid {' '.join(command)}'"
        shown = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", match.group(2)))
        unknown = shown - _flags(COMMANDS[command])
        assert not unknown, f"{page.name}:{lineno}: 'hybrid {' '.join(command)}' has no {sorted(unknown)}"


def test_every_mentioned_flag_exists_somewhere():
    known = set().union(*(_flags(parser) for parser in COMMANDS.values())) | OTHER_TOOLS
    missing = [
        f"{page.name}:{lineno}: {flag}"
        for page in PAGES
        for lineno, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        for flag in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", line)
        if flag not in known
    ]
    assert not missing, missing
