"""The shape of the source tree: no import cycle between the modules of ``tryon``, every
package importing only the layers below it, no function longer than 80 lines.

Every module under ``src/tryon`` is parsed with ``ast`` (nothing is imported). An import
counts wherever it is: at the top, inside a function, under ``if TYPE_CHECKING``. A
module is named as Python names it (``tryon/warp/fit.py`` is ``tryon.warp.fit``; a
package's ``__init__.py`` is the package, ``tryon.warp``). ``import a.b`` imports the
module ``a.b``; ``from a import b`` imports the module ``a.b`` when there is one, else
``a`` (``b`` is a name defined in ``a``). Relative imports are resolved against the
importing module's package. Only imports of ``tryon``'s own modules make edges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_FUNCTION_LINES = 80

# The top-level parts of ``tryon``, lowest first: each imports only from the rows above
# it (the README's "Layout"). "tryon" is the package's own ``__init__``.
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(row.split())
    for row in (
        "types errors allocator threads closing",
        "ops imageio process",
        "body diffusion fashn debug",
        "garment warp compose",
        "engines",
        "pipeline",
        "tryon catalog dataset",
        "evaluation",
        "training",
        "service",
        "scale",
        "cli",
        "__main__",
    )
)

# Imports across one row that are deliberate: the worn-garment cutter places its
# landmarks where the warp puts the body's, so it reads the warp's fit parameters; the
# FASHN weights share the diffusion engines' weights record and error.
SAME_ROW = {
    ("tryon.garment.worn", "tryon.warp.config"),
    ("tryon.fashn.weights", "tryon.diffusion.weights"),
}


def module_names(src: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``src``: its dotted name and file."""
    names = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported_modules(name: str, path: Path, modules: Iterable[str]) -> set[str]:
    """The modules of ``modules`` that module ``name`` (file ``path``) imports."""
    known = set(modules)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # "import a.b.c" of a name that is no module: its longest module prefix.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(src: Path, package: str) -> dict[str, set[str]]:
    modules = module_names(src, package)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one, as the list of modules
    along it, the first repeated at the end (``[a, b, a]``); a shortest cycle through the
    component's first module. Empty when the graph has no cycle."""
    edges = {node: sorted(set(targets) & set(graph)) for node, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    cycles = []
    for component in sorted(components):
        start = component[0]
        if len(component) > 1 or start in edges[start]:
            cycles.append(_shortest_cycle(edges, start, set(component)))
    return cycles


def _shortest_cycle(edges: Mapping[str, list[str]], start: str, within: set[str]) -> list[str]:
    """A shortest path from ``start`` back to itself through ``within`` (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in edges[node]:
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target in within and target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is on no cycle")


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[tuple[int, str, int]]:
    """The functions and methods of a file longer than ``limit`` lines, counted from
    ``def`` to their last line (decorators left out): (line, name, lines), in order."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append((node.lineno, node.name, length))
    return sorted(found)


def test_no_import_cycle_between_modules() -> None:
    cycles = find_cycles(import_graph(SRC, "tryon"))
    assert not cycles, f"{len(cycles)} import cycle(s):\n" + "\n".join(
        " -> ".join(cycle) for cycle in cycles
    )


def part_of(module: str) -> str:
    """The top-level part of ``tryon`` a module belongs to (``tryon.warp.fit``: warp)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_violations(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Every import of a module from its own row or a row below, but those in
    ``SAME_ROW``: "importer -> imported"."""
    row = {part: i for i, parts in enumerate(LAYERS) for part in parts}
    found = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            mine, theirs = part_of(module), part_of(target)
            if mine == theirs or (module, target) in SAME_ROW:
                continue
            if row[theirs] >= row[mine]:
                found.append(f"{module} -> {target}")
    return found


def test_every_part_of_tryon_has_a_layer() -> None:
    parts = {part_of(module) for module in module_names(SRC, "tryon")}
    assert parts <= set().union(*LAYERS), sorted(parts - set().union(*LAYERS))


def test_packages_import_only_the_layers_below_them() -> None:
    found = layer_violations(import_graph(SRC, "tryon"))
    assert not found, "imports against the layers:\n" + "\n".join(found)


def test_the_layer_check_finds_an_import_upwards() -> None:
    graph = {
        "tryon.ops.masks": {"tryon.types"},
        "tryon.body.frame": {"tryon.ops.masks", "tryon.warp.fit"},  # a stage to its peer
        "tryon.warp.fit": {"tryon.engines.person", "tryon.warp.config"},  # upwards
    }
    assert layer_violations(graph) == [
        "tryon.body.frame -> tryon.warp.fit",
        "tryon.warp.fit -> tryon.engines.person",
    ]


def test_no_function_is_longer_than_80_lines() -> None:
    found = [
        f"{path.relative_to(SRC.parent)}:{line} {name} ({length} lines)"
        for path in sorted((SRC / "tryon").rglob("*.py"))
        for line, name, length in long_functions(path)
    ]
    assert not found, f"over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(found)


# --- the checkers themselves ---------------------------------------------------------


def test_the_cycle_finder_finds_each_cycle_once_and_none_where_there_is_none() -> None:
    acyclic = {"a": {"b", "c"}, "b": {"c"}, "c": set(), "d": {"a"}}
    assert find_cycles(acyclic) == []
    graph = {
        "a": {"b"},
        "b": {"c", "e"},
        "c": {"a"},
        "d": {"a"},  # reaches the cycle, is not on it
        "e": {"e", "x"},  # a module importing itself; x is outside the graph
        "f": {"g"},
        "g": {"f", "h"},
        "h": set(),
    }
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["e", "e"], ["f", "g", "f"]]
    # A shortest cycle is shown, not the whole component.
    tangled = {"a": {"b", "c"}, "b": {"c"}, "c": {"a", "b"}}
    assert find_cycles(tangled) == [["a", "c", "a"]]


def test_imports_anywhere_in_a_module_are_edges(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from pkg.a import A\n",
        "a.py": "import os\n\nA = 1\n\ndef later():\n    from . import b\n    return b\n",
        "b.py": "from pkg import sub\nfrom pkg import A\n",
        "sub/__init__.py": "from .c import C\n",
        "sub/c.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import A\n"
            "import pkg.sub.c\nimport pkg.b.missing\nC = 3\n"
        ),
    }
    for name, text in files.items():
        (root / name).write_text(text)
    graph = import_graph(tmp_path, "pkg")
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b"},  # inside a function
        "pkg.b": {"pkg.sub", "pkg"},  # a subpackage; a name of the package
        "pkg.sub": {"pkg.sub.c"},
        "pkg.sub.c": {"pkg.a", "pkg.b"},  # under TYPE_CHECKING; a name that is no module
    }
    assert find_cycles(graph) == [["pkg", "pkg.a", "pkg.b", "pkg"]]


def test_the_length_check_counts_from_def_to_the_last_line(tmp_path: Path) -> None:
    def lines(count: int, indent: str) -> str:
        return "".join(f"{indent}x{i} = {i}\n" for i in range(count))

    path = tmp_path / "m.py"
    # 80 lines from "def" (the decorator left out); 81 lines, nested in a class.
    path.write_text(
        f"@staticmethod\ndef fits():\n{lines(79, '    ')}\n"
        f"class K:\n    def too_long(self):\n{lines(80, '        ')}"
    )
    assert long_functions(path) == [(84, "too_long", 81)]
