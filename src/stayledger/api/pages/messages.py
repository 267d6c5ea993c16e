"""The portal's source strings, found where they are used (for the catalogs and the test that keeps them whole)."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent
_CALL = re.compile(r"""_\(\s*"((?:[^"\\]|\\.)*)"|_\(\s*'((?:[^'\\]|\\.)*)'""")


def source_messages() -> list[str]:
    """Every msgid: the templates' _("...") calls and the names shown for statuses and roles, in order of first use."""
    from stayledger.api.pages.portal import ROLE_NAMES, STATUS_NAMES

    found: list[str] = []
    for template in sorted((HERE / "templates").glob("*.html")):
        for match in _CALL.finditer(template.read_text(encoding="utf-8")):
            found.append(match.group(1) or match.group(2))
    found += [*STATUS_NAMES.values(), *ROLE_NAMES.values()]
    return list(dict.fromkeys(found))
