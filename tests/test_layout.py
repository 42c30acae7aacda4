"""The package's import graph follows its layers (ARCHITECTURE.md): no cycle, and no module
imports from a layer above its own, so each file knows its room."""

import ast
from pathlib import Path

import neuronseg

ROOT = Path(neuronseg.__file__).parent

#: lowest first; a module may import from its own layer and those below (ARCHITECTURE.md)
LAYERS = (
    ("errors", "progress", "offsets", "roiset", "settings"),
    ("io",),
    ("movie", "instances", "metrics", "traces", "deconvolution", "simulate"),
    ("nets",),
    ("curation",),
    ("pipelines",),
    ("train", "results"),
    ("jobs", "batch", "demo", "cli", "napari_plugin", "__init__", "__main__"),
)


def _modules() -> dict:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(("neuronseg",) + parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict) -> set:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != name and m != "neuronseg"}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS and ARCHITECTURE.md")


def test_no_module_imports_from_a_layer_above_its_own():
    modules = _modules()
    upward = [f"{m} -> {d}" for m, p in modules.items() for d in _imports(m, p, modules) if _layer(d) > _layer(m)]
    assert upward == []


def test_the_import_graph_has_no_cycle():
    modules = _modules()
    graph = {m: {d for d in _imports(m, p, modules) if not d.endswith("__init__")} for m, p in modules.items()}
    state, cycles = {}, []

    def visit(m, trail):
        state[m] = "open"
        for d in graph.get(m, ()):
            if state.get(d) == "open":
                cycles.append(trail[trail.index(d):] + [d] if d in trail else [m, d])
            elif d not in state:
                visit(d, trail + [d])
        state[m] = "done"

    for m in graph:
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_every_method_the_command_line_offers_is_one_segment_movie_knows():
    from neuronseg.pipelines.segment import METHODS
    from neuronseg.settings import SEGMENT

    method = next(s for s in SEGMENT if s.name == "method")
    assert set(method.choices) == set(METHODS)
