"""No module imports a layer above its own: tasks (the stages) < artifacts (the store) < flows
(planning and wiring) < webapp < music2dance_cli (the commands). The web app calls flows/, never
the CLI; a stage never reaches into the orchestration. (A stage's task.py opens the store, so
tasks -> artifacts is the style guide's to police, not this test's.)"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("tasks", "artifacts", "flows", "webapp", "music2dance_cli")


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_no_module_imports_a_layer_above_it(layer):
    above = set(LAYERS[LAYERS.index(layer) + 1 :]) - ({"artifacts"} if layer == "tasks" else set())
    upward = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & above)
        for path in (ROOT / layer).rglob("*.py")
        if imported_packages(path) & above
    }
    assert not upward, upward
