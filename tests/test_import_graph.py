"""No import loops between our modules: a module never imports (directly, through others, or
inside a function) a module that imports it back. import-linter's acyclic_siblings contract
(pyproject.toml) checks packages; this checks every pair of modules."""

from __future__ import annotations

import grimp

PACKAGES = ("fintech", "ledger", "integrations")


def loops(graph: grimp.ImportGraph) -> set[tuple[str, str]]:
    """Pairs of modules that import each other, directly or through a chain."""
    found = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.find_shortest_chain(importer=imported, imported=module):
                a, b = sorted((module, imported))
                found.add((a, b))
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    assert sorted(loops(graph)) == []


def test_a_loop_is_found() -> None:
    # The check can fail: a plumbing module importing the tasks that (through the relay)
    # import it is a loop.
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    graph.add_import(importer="integrations.claims", imported="integrations.tasks")
    assert ("integrations.claims", "integrations.tasks") in loops(graph)
