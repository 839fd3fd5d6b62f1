#!/usr/bin/env python3
"""Writes a help2man include file (help2man(1), "INCLUDE FILES") with a
COMMANDS section: the --help text of every vigil command, taken from the
binary itself, so that the man page follows the CLI.

Usage: man_commands.py VIGIL OUT. Exit 1 when a --help fails."""
import re
import subprocess
import sys


def help_text(vigil, words):
    res = subprocess.run([vigil] + words + ["--help"], capture_output=True, text=True,
                         timeout=30)
    if res.returncode != 0:
        sys.exit("%s --help: exit %d: %s" % (" ".join(["vigil"] + words), res.returncode,
                                            res.stderr.strip()))
    return res.stdout


def subcommands(text):
    """The names listed under CLI11's "Subcommands:" heading."""
    names, inside = [], False
    for line in text.splitlines():
        if re.match(r"^(Subcommands|SUBCOMMANDS):\s*$", line):
            inside = True
        elif inside and re.match(r"^  \S", line):
            names.append(line.split()[0])
        elif inside and line.strip() == "":
            continue
        elif inside:
            inside = False
    return names


def roff(text):
    out = []
    for line in text.rstrip("\n").splitlines():
        line = line.replace("\\", "\\e")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def leaves(vigil, words):
    text = help_text(vigil, words)
    subs = subcommands(text)
    if not subs:
        return [(words, text)]
    found = []
    for name in subs:
        found += leaves(vigil, words + [name])
    return found


def main():
    vigil, out = sys.argv[1], sys.argv[2]
    parts = ["[COMMANDS]", "Every command, with its options (the output of its \\-\\-help)."]
    for words, text in leaves(vigil, []):
        if not words:
            continue
        parts += [".SS \"vigil %s\"" % " ".join(words), ".nf", roff(text), ".fi"]
    with open(out, "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
