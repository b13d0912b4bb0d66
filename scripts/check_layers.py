#!/usr/bin/env python3
"""Checks wasmgate's import order at two levels; exits 1 on a finding.

- Stages: each folder of src/ may only use the stages before it in ORDER (docs/architecture.md).
  A folder missing from ORDER is an error too, so a new stage has to be placed first.
- Files: inside a stage, no circle between files (a.rs uses b.rs, which uses a.rs back).
- The CLI: no subcommand's file calls a function of another's (types, the flags, may be shared).

Every path is read: `crate::x::y`, `super::x` and `self::x` (chains of `super` too), in `use`
lines, grouped ones (`use crate::{a, b::{c, d}}`) and inline paths. A path to an item of a
`mod.rs` that only re-exports it (`pub use child::*`) counts as a use of the child that defines
it. Test code (`tests.rs` files and in-file `mod tests`) counts for the stage order, not for
circles: a test may reach anything in its stage.

`--graph` prints, per stage, the stages it uses.
"""
import pathlib
import re
import sys

ORDER = ["model", "util", "stats", "config", "toolchain", "build", "run", "compare",
         "calibrate", "nightly", "bisect", "report", "publish", "cli"]
SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+|unsafe\s+|const\s+)*"
    r"(?:fn|struct|enum|const|static|type|trait|union|macro_rules!)\s+(\w+)")
INLINE_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*\{")
FILE_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")
PUB_USE = re.compile(r"^\s*pub(?:\([^)]*\))?\s+use\s+([^;]+);")
PATH = re.compile(r"\b((?:crate|super|self)(?:::(?:\w+|\*|\{))+)")


def module_of(path):
    """src/run/scheduler/mod.rs -> ('run', 'scheduler'); src/main.rs -> ()."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] in ("mod", "main", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def strip(line):
    """The line without its comment and string contents."""
    line = re.sub(r'"([^"\\]|\\.)*"', '""', line)
    return line.split("//")[0]


def expand(text):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (and `a::b as c` -> a::b)."""
    text = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", text))
    if "{" not in text:
        return [text]
    head, rest = text.split("{", 1)
    inner = rest[: rest.rfind("}")]
    parts, depth, current = [], 0, ""
    for char in inner:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (char == "{") - (char == "}")
        current += char
    parts.append(current)
    out = []
    for part in filter(None, parts):
        out.extend(head + sub for sub in expand(part))
    return out


def statements(lines):
    """(line number, text, in test code, inline module path) of each `use` statement and of
    each line with an inline path, joining a `use` over several lines."""
    inline, depth, test_depth = [], 0, None
    pending, start = None, 0
    for number, raw in enumerate(lines, 1):
        line = strip(raw)
        in_test = test_depth is not None
        if pending is not None:
            pending += " " + line
            if ";" in line:
                yield start, pending, in_test, tuple(m for m, _ in inline)
                pending = None
        elif re.match(r"^\s*(pub(\([^)]*\))?\s+)?use\s", line) and ";" not in line:
            pending, start = line, number
        else:
            yield number, line, in_test, tuple(m for m, _ in inline)
        opened = INLINE_MOD.match(line)
        if opened:
            inline.append((opened.group(1), depth))
            if opened.group(1) == "tests" or (number > 1 and "cfg(test)" in lines[number - 2]):
                test_depth = depth if test_depth is None else test_depth
        depth += line.count("{") - line.count("}")
        while inline and depth <= inline[-1][1]:
            inline.pop()
        if test_depth is not None and depth <= test_depth:
            test_depth = None


def paths_in(text):
    """Every crate/super/self path in a statement, groups expanded."""
    found = []
    use = re.match(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+(.+?);", text)
    if use:
        return expand(use.group(1)) if re.match(r"(crate|super|self)\b", use.group(1)) else []
    for match in PATH.finditer(text):
        path = match.group(1)
        if path.endswith("{"):
            rest = text[match.end(1) - 1:]
            depth, end = 0, 0
            for end, char in enumerate(rest):
                depth += (char == "{") - (char == "}")
                if depth == 0:
                    break
            found.extend(expand(path[:-1] + rest[: end + 1]))
        else:
            found.append(path)
    return found


def absolute(path, here):
    """A path resolved from module `here` to a tuple from the crate root; None if outside."""
    segments = path.split("::")
    if segments[0] == "crate":
        base, segments = [], segments[1:]
    else:
        base = list(here)
        while segments and segments[0] in ("super", "self"):
            if segments.pop(0) == "super":
                if not base:
                    return None
                base.pop()
    return tuple(base + [s for s in segments if s])


class Crate:
    def __init__(self):
        self.files = {module_of(p): p for p in SRC.rglob("*.rs")}
        self.items = {}
        self.reexports = {}
        for module, path in self.files.items():
            lines = [strip(line) for line in path.read_text().split("\n")]
            self.items[module] = {m.group(1) for line in lines if (m := ITEM.match(line))}
            self.reexports[module] = [
                target for line in lines if (m := PUB_USE.match(line))
                for target in expand(m.group(1))]

    def file_of(self, target):
        """The file module that defines what `target` names: its longest prefix that is a
        file, then through re-exports of that file to the child that defines the item."""
        for cut in range(len(target), 0, -1):
            module = target[:cut]
            if module in self.files:
                break
        else:
            return None
        rest = target[cut:]
        if not rest or rest[0] == "*" or rest[0] in self.items[module]:
            return module
        for export in self.reexports[module]:
            resolved = absolute(export, module) or ()
            child = self.file_of(resolved[:-1] if resolved[-1:] in (("*",), (rest[0],)) else ())
            if child and child != module and (resolved[-1] == rest[0] or rest[0] in self.items[child]):
                return child
        return module

    def uses(self):
        """(file, line, in test, source module, target path) of every path in src/."""
        for module, path in sorted(self.files.items()):
            lines = path.read_text().split("\n")
            test_file = path.name == "tests.rs"
            for number, text, in_test, inline in statements(lines):
                here = module + inline
                for raw in paths_in(text):
                    target = absolute(raw, here)
                    if target:
                        yield path, number, in_test or test_file, module, target


def level(stage):
    return ORDER.index(stage) if stage in ORDER else -1


def main():
    crate = Crate()
    problems = []
    stages = sorted({m[0] for m in crate.files if len(m) > 0 and (SRC / m[0]).is_dir()})
    for stage in stages:
        if level(stage) < 0:
            problems.append(f"src/{stage}/: not in the layer order of scripts/check_layers.py; "
                            "place it there and in docs/architecture.md")
    graph, edges = {}, {}
    for path, number, in_test, module, target in crate.uses():
        if not module or not target:
            continue
        stage, used = module[0], target[0]
        if used != stage and level(used) >= 0 and level(stage) >= 0:
            graph.setdefault(stage, set()).add(used)
            if level(used) >= level(stage):
                problems.append(f"{path.relative_to(SRC.parent)}:{number}: {stage} uses "
                                f"{used} ({'::'.join(target)}), which is not below it "
                                f"(order: {' '.join(ORDER)})")
        if used == stage == "cli" and not in_test and sideways_call(crate, module, target):
            problems.append(f"{path.relative_to(SRC.parent)}:{number}: {'::'.join(module)} calls "
                            f"{'::'.join(target)} of another subcommand; what two subcommands "
                            "share is a stage function (or a flag type in cli/mod.rs)")
        if used == stage and not in_test:
            target_file = crate.file_of(target)
            if target_file and target_file != module and target_file[0] == stage:
                edges.setdefault(module, {}).setdefault(target_file, (path, number))
    if "--graph" in sys.argv:
        for stage in ORDER:
            print(f"{stage:<10} <- {' '.join(sorted(graph.get(stage, []))) or '(nothing)'}")
        return 0
    problems.extend(circles(edges))
    for problem in problems:
        print(problem)
    if not problems:
        print(f"layers: every import points down ({' '.join(ORDER)}), and no file of a stage "
              "uses one that uses it back")
    return 1 if problems else 0


def sideways_call(crate, module, target):
    """A subcommand's file using a function or constant of another subcommand's file: the CLI
    stays thin when each subcommand parses, calls one stage function and prints."""
    target_file = crate.file_of(target)
    if not target_file or len(target_file) < 2 or target_file == module or len(module) < 2:
        return False
    name = target[len(target_file)] if len(target) > len(target_file) else ""
    return bool(name) and not name[0].isupper()


def circles(edges):
    """One line per circle between files of a stage (a strongly connected set)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on.add(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    lines = []
    for group in found:
        members = set(group)
        where = [f"{'::'.join(a)} -> {'::'.join(b)} ({p.relative_to(SRC.parent)}:{n})"
                 for a in group for b, (p, n) in edges.get(a, {}).items() if b in members]
        lines.append("circle between files of a stage: " + "; ".join(where))
    return lines


if __name__ == "__main__":
    sys.exit(main())
