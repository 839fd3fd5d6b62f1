#!/usr/bin/env python3
"""The `layering` test: every #include "module/..." of a product file must
point at its own module or at one the module table of docs/ARCHITECTURE.md
lets it use. An include that points up or sideways fails, naming the file,
the line and the rule.

The table is the one after the line `<!-- layering -->`:
    | module | may use |
    | agent/api | agent/base, agent/config, ... |
A module is a top-level folder (crypto, patch, ...) or an agent sub-folder
(agent/api, ...); agent/daemon.{h,cc} is the module agent/daemon.
Exit 0 when every include is allowed, 1 otherwise.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PRODUCT = ["crypto", "patch", "heartbeat", "membership", "agent"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_table():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    at = text.find("<!-- layering -->")
    if at < 0:
        sys.exit("docs/ARCHITECTURE.md has no '<!-- layering -->' table")
    table = {}
    for line in text[at:].splitlines()[1:]:
        if not line.startswith("|"):
            if table:
                break
            continue
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("module", "") or set(cells[0]) <= set("-: "):
            continue
        uses = {u.strip().strip("`") for u in cells[1].split(",")} - {"", "—", "-"}
        table[cells[0]] = uses
    return table


def module_of(rel):
    parts = rel.split("/")
    if parts[0] != "agent":
        return parts[0]
    if len(parts) == 2:
        return "agent/" + parts[1].split(".")[0]  # agent/daemon.h -> agent/daemon
    return "agent/" + parts[1]


def main():
    table = read_table()
    errors = []
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in (".h", ".cc"):
                continue
            rel = path.relative_to(ROOT).as_posix()
            own = module_of(rel)
            if own not in table:
                errors.append(f"{rel}: module {own} is not in the table")
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if not m or "/" not in m.group(1):
                    continue
                target = module_of(m.group(1))
                if target.split("/")[0] not in PRODUCT:
                    continue
                if target != own and target not in table[own]:
                    errors.append(f"{rel}:{n}: {own} may not include {m.group(1)} "
                                  f"(module {target}; {own} may use: "
                                  f"{', '.join(sorted(table[own])) or 'nothing'})")
    for e in errors:
        print(e)
    print(f"layering: {len(table)} modules checked, {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
