"""MkDocs hook: show Sphinx roles left in docstrings as plain code.

Some docstrings cross-reference with Sphinx roles (:class:`~hybrid.tasks.feynman.RegressionProblem`),
which mkdocstrings does not interpret and would print verbatim. This hook drops the role
prefix and, as Sphinx does for a leading ``~``, keeps only the last component of the path.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|obj|exc):<code>(~?)([^<]*)</code>")


def _replace(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"<code>{target.rsplit('.', 1)[-1] if tilde else target}</code>"


def on_page_content(html: str, **kwargs) -> str:
    """Rewrite ``:role:<code>target</code>`` into ``<code>target</code>``."""
    return _ROLE.sub(_replace, html)
