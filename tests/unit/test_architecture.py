"""The shape of ``ocr_api``, read from its imports: an OCR core without AWS, HTTP or the network,
layers that only look down, no import circle, no process-global state to swap."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ocr_local.template import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "functions" / "ocr_api"
# Outside libraries the core may not use: the cloud, and every way onto the network.
OUTSIDE_THE_CORE = (
    "boto3",
    "botocore",
    "aws_lambda_powertools",
    "http.client",
    "urllib.request",
    "socket",
    "multipart",
)
# Which parts of ocr_api each part may import (besides config and errors, which all may).
MAY_IMPORT = {
    "ocr": {"ocr"},
    "keys": {"keys"},
    "jobs": {"jobs"},
    "adapters": {"adapters", "keys", "jobs"},
    "service": {"service", "ocr", "keys", "adapters", "jobs"},
    "dialects": {"dialects", "service", "ocr", "jobs"},
    # The deep-learning engine's function is the OCR core behind a handler.
    "handlers": {"handlers", "keys", "adapters", "ocr"},
    "cli": {"cli", "keys", "adapters"},
    "app": {"dialects", "service"},
    "job_messages": {"service"},
    "job_worker": {"dialects", "service", "job_messages"},
}
SHARED = {"config", "errors", "package"}


def modules() -> dict[str, Path]:
    return {
        ".".join(("ocr_api", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): path
        for path in PACKAGE.rglob("*.py")
    }


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def part(module: str) -> str:
    """The part a module belongs to: its sub-package, or its own name at the top."""
    return "package" if module == "ocr_api" else module.split(".")[1]


@pytest.mark.parametrize("module", sorted(name for name in modules() if part(name) == "ocr"))
def test_the_ocr_core_knows_nothing_of_aws_or_the_network(module):
    used = imports(modules()[module])
    outside = {name for name in used for banned in OUTSIDE_THE_CORE if name == banned or name.startswith(banned + ".")}
    assert not outside, f"{module} imports {sorted(outside)}"


# ``python -m ocr_api.keys`` forwards to the command line's module: an entry point, not a layer.
@pytest.mark.parametrize(
    "module", sorted(name for name in modules() if part(name) in MAY_IMPORT and not name.endswith(".__main__"))
)
def test_each_part_imports_only_the_parts_below_it(module):
    own = modules()
    reached = {part(name) for name in imports(own[module]) if name in own} - SHARED
    assert reached <= MAY_IMPORT[part(module)], f"{module} reaches {sorted(reached - MAY_IMPORT[part(module)])}"


def test_there_is_no_import_circle():
    own = modules()
    graph = {
        module: {name for name in imports(path, top_level_only=True) if name in own and name != module}
        for module, path in own.items()
    }
    # A package's __init__ importing its own modules is how a package is made, not a circle.
    for module, targets in graph.items():
        if own[module].name == "__init__.py":
            graph[module] = {name for name in targets if not name.startswith(module + ".")}
    done, on_path = set(), []

    def visit(module: str) -> None:
        if module in on_path:
            pytest.fail("import circle: " + " -> ".join([*on_path[on_path.index(module) :], module]))
        if module in done:
            return
        on_path.append(module)
        for target in sorted(graph[module]):
            visit(target)
        on_path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_no_module_keeps_state_that_callers_must_swap():
    # Dependencies are handed over, never installed into a module for others to read.
    rebinding = [
        f"{module}:{node.lineno}"
        for module, path in modules().items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Global)
    ]
    assert rebinding == []
