"""The layering rules of docs/architecture.md, checked against the code's own imports.

Every ``import`` in the product packages (at module level, inside functions and under
``TYPE_CHECKING`` alike) becomes an edge between two modules. The tests below walk those edges:
nothing imports a higher layer, no module imports itself back through others, nobody reaches
into another module's private names, and no module grows past the size where it mixes concepts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "mcp_server", "knowledge", "evals")
MAX_LINES = 500

# Bottom up. A module belongs to the layer of its longest matching prefix and may import its own
# layer and the layers below it, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "kernel",
        (
            "mcp_server.telemetry",
            "mcp_server.span_conventions",
            "mcp_server.taxonomy",
            "mcp_server.errors",
            "mcp_server.config",
            "mcp_server.scenario",
            "mcp_server.redaction",
            "mcp_server.tool_calls",
        ),
    ),
    ("backends", ("mcp_server.backends", "evals.simulator", "evals.scenarios")),
    ("analysis", ("mcp_server.analysis", "knowledge")),
    ("tools", ("mcp_server.tools", "mcp_server.deps", "mcp_server.prompts", "mcp_server.http_transport")),
    ("agent", ("agent",)),
    (
        "entry points",
        (
            "agent.wiring",
            "agent.commands",
            "agent.cli",
            "agent.demo",
            "agent.service",
            "agent.slack",
            "mcp_server.server",
            "evals",
        ),
    ),
)

# Inside the agent: graph nodes see reasoners and the report drafter only through their ports.
NODE_MAY_NOT_IMPORT = ("agent.reasoners", "agent.report", "agent.wiring", "importlib")
NODE_EXCEPTIONS = ("agent.reasoners.base",)

# Modules other helpers are splitting; they must leave this list when they shrink below the limit.


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imports: list[tuple[str, int]] = field(default_factory=list)  # (module, line)
    private_uses: list[tuple[str, int]] = field(default_factory=list)  # ("module._name", line)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _source_files() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _resolve(target: str, known: set[str]) -> str | None:
    """The project module an import names: itself, or the package holding the name."""
    while target:
        if target in known:
            return target
        target = target.rpartition(".")[0]
    return None


def load_modules() -> dict[str, Module]:
    modules = {}
    for path in _source_files():
        name = _module_name(path)
        modules[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    known = set(modules)
    for module in modules.values():
        is_package = module.path.name == "__init__.py"
        bound: dict[str, str] = {}  # local name -> project module it refers to
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "importlib":
                        module.imports.append(("importlib", node.lineno))
                    resolved = _resolve(alias.name, known)
                    if resolved:
                        module.imports.append((resolved, node.lineno))
                        if alias.asname:
                            bound[alias.asname] = resolved
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.name.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                if base.split(".")[0] == "importlib":
                    module.imports.append(("importlib", node.lineno))
                for alias in node.names:
                    resolved = _resolve(f"{base}.{alias.name}", known)
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    if resolved == f"{base}.{alias.name}":
                        bound[alias.asname or alias.name] = resolved
                    elif resolved and private:
                        module.private_uses.append((f"{resolved}.{alias.name}", node.lineno))
                    if resolved:
                        module.imports.append((resolved, node.lineno))
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                module.private_uses.append((f"{bound[node.value.id]}.{node.attr}", node.lineno))
    return modules


def layer_of(module: str) -> int:
    best, best_length = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def _where(module: Module, line: int) -> str:
    return f"{module.path.relative_to(ROOT)}:{line}"


def test_every_product_module_belongs_to_a_layer() -> None:
    unplaced = [name for name in load_modules() if layer_of(name) < 0 and name not in PACKAGES]
    assert unplaced == []


def test_no_module_imports_a_higher_layer() -> None:
    upward = []
    for module in load_modules().values():
        mine = layer_of(module.name)
        for target, line in module.imports:
            theirs = layer_of(target)
            if target in PACKAGES or theirs <= mine:
                continue
            upward.append(
                f"{_where(module, line)}: {module.name} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]})"
            )
    assert upward == []


def test_graph_nodes_reach_reasoners_and_the_drafter_only_through_their_ports() -> None:
    wrong = []
    for module in load_modules().values():
        if not module.name.startswith("agent.nodes"):
            continue
        for target, line in module.imports:
            if target in NODE_EXCEPTIONS:
                continue
            if any(target == p or target.startswith(p + ".") for p in NODE_MAY_NOT_IMPORT):
                wrong.append(f"{_where(module, line)}: {module.name} imports {target}")
    assert wrong == []


def test_no_module_uses_another_modules_private_names() -> None:
    wrong = [
        f"{_where(module, line)}: {module.name} uses {used}"
        for module in load_modules().values()
        for used, line in module.private_uses
        if used.rpartition(".")[0] != module.name
    ]
    assert wrong == []


def import_cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph = {
        name: sorted({t for t, _ in m.imports if t in modules and t != name}) for name, m in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(start: str) -> None:
        # iterative, so a deep import chain cannot hit the recursion limit
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    return cycles


def test_there_are_no_import_cycles() -> None:
    assert import_cycles(load_modules()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    tree = ast.parse("")
    modules = {
        "a": Module("a", ROOT / "a.py", tree, imports=[("b", 1)]),
        "b": Module("b", ROOT / "b.py", tree, imports=[("c", 1)]),
        "c": Module("c", ROOT / "c.py", tree, imports=[("a", 1)]),
        "d": Module("d", ROOT / "d.py", tree, imports=[("a", 1)]),
    }
    assert import_cycles(modules) == [["a", "b", "c"]]


def test_no_module_passes_the_size_where_it_mixes_concepts() -> None:
    too_long = []
    for path in _source_files():
        relative = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            too_long.append(f"{relative}: {lines} lines")
    assert too_long == []


def test_exactly_one_place_builds_an_investigation_result() -> None:
    builders = sorted(
        {
            module.name
            for module in load_modules().values()
            for node in ast.walk(module.tree)
            if isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "InvestigationResult")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "InvestigationResult")
            )
        }
    )
    assert builders == ["agent.nodes.report"]
