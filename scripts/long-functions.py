#!/usr/bin/env python3
"""Lists the functions in src/ longer than a limit (default 80 lines), longest first; exits 1 when
there is one. A function's length runs from its `fn` line to its closing brace. Tests count too."""
import pathlib
import re
import sys

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 80
FN = re.compile(r"^\s*(pub(\([a-z]+\))?\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def functions(path):
    lines = path.read_text().split("\n")
    for start, line in enumerate(lines):
        match = FN.match(line)
        if not match:
            continue
        depth, opened = 0, False
        for end in range(start, len(lines)):
            text = re.sub(r'"([^"\\]|\\.)*"', '""', lines[end].split("//")[0])
            depth += text.count("{") - text.count("}")
            opened = opened or "{" in text
            if opened and depth <= 0:
                yield match.group(5), start + 1, end - start + 1
                break
            if not opened and text.rstrip().endswith(";"):
                break


found = sorted(
    ((length, f"{path}:{line}", name)
     for path in pathlib.Path("src").rglob("*.rs")
     for name, line, length in functions(path)
     if length > LIMIT),
    reverse=True,
)
for length, where, name in found:
    print(f"{where}: fn {name} is {length} lines (limit {LIMIT})")
sys.exit(1 if found else 0)
