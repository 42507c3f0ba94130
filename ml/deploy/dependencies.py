"""Find the `ml` modules and the extra packages that a model's code needs inside a SageMaker container.

Imports are read from the source with `ast`, so nothing is executed, except in
`modules_loaded_by_model_fn`, which loads the artifact in a child process to learn which
modules its pickled objects refer to.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "ml"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
PROJECT_ROOT = PACKAGE_DIR.parent
PYPROJECT = PROJECT_ROOT / "pyproject.toml"
REQUIREMENTS_FILE = "requirements.txt"

# Top-level modules that the SageMaker scikit-learn images (training and inference) provide
# besides the standard library. threadpoolctl comes with scikit-learn.
CONTAINER_MODULES = frozenset({"numpy", "scipy", "sklearn", "joblib", "pandas", "threadpoolctl"})

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class DependencyError(ValueError):
    """The code of a model needs something that cannot be shipped with it."""


@dataclass(frozen=True)
class Import:
    """One imported module, and whether the import runs only on demand.

    `lazy` is true inside a function, under `if TYPE_CHECKING:`, or in a `try` block that
    catches ImportError, because the code then runs without the module until that path is taken.
    """

    module: str
    lazy: bool


def module_path(module: str) -> Path:
    """Return the source file of an `ml` module or package; raise DependencyError if none exists."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        raise DependencyError(f"{module} is not a module of the {PACKAGE} package")
    base = PACKAGE_DIR.parent.joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    raise DependencyError(f"module {module} not found under {PACKAGE_DIR}")


def is_package_module(module: str) -> bool:
    """Return whether `module` names a module or package that exists under the `ml` folder."""
    try:
        module_path(module)
    except DependencyError:
        return False
    return True


def read_imports(path: Path, module: str) -> list[Import]:
    """Return the modules that the file imports, with relative imports made absolute."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    collector = _ImportCollector(package)
    collector.visit(tree)
    return collector.imports


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, package: str) -> None:
        self.package = package
        self.imports: list[Import] = []
        self._lazy_depth = 0

    def _visit_lazy(self, node: ast.AST) -> None:
        self._lazy_depth += 1
        self.generic_visit(node)
        self._lazy_depth -= 1

    visit_FunctionDef = _visit_lazy
    visit_AsyncFunctionDef = _visit_lazy
    visit_Lambda = _visit_lazy

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            self._visit_lazy(node)
        else:
            self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        if any(_catches_import_error(handler) for handler in node.handlers):
            self._lazy_depth += 1
            for statement in node.body:
                self.visit(statement)
            self._lazy_depth -= 1
            for part in (*node.handlers, *node.orelse, *node.finalbody):
                self.visit(part)
        else:
            self.generic_visit(node)

    visit_TryStar = visit_Try

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__":
            return
        base = node.module or ""
        if node.level:
            anchor = self.package.rsplit(".", node.level - 1)[0] if node.level > 1 else self.package
            base = f"{anchor}.{base}" if base else anchor
        self._add(base)
        # `from ml.x import y` imports the submodule ml.x.y when y is one.
        if base.split(".")[0] == PACKAGE:
            for alias in node.names:
                if alias.name != "*" and is_package_module(f"{base}.{alias.name}"):
                    self._add(f"{base}.{alias.name}")

    def _add(self, module: str) -> None:
        self.imports.append(Import(module, lazy=self._lazy_depth > 0))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(name, ast.Name) and name.id in {"ImportError", "ModuleNotFoundError", "Exception"} for name in names)


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:index]) for index in range(1, len(parts) + 1)]


def module_closure(start: Iterable[str], *, follow_lazy: bool) -> set[str]:
    """Return the `ml` modules reachable from `start` by imports, with every parent package.

    With `follow_lazy` false, imports inside functions and optional imports are not followed.
    """
    pending = [parent for module in start for parent in _with_parents(module)]
    found: set[str] = set()
    while pending:
        module = pending.pop()
        if module in found:
            continue
        found.add(module)
        for imported in read_imports(module_path(module), module):
            if imported.module.split(".")[0] != PACKAGE or (imported.lazy and not follow_lazy):
                continue
            pending.extend(parent for parent in _with_parents(imported.module) if parent not in found)
    return found


def third_party_imports(modules: Iterable[str], *, follow_lazy: bool) -> dict[str, str]:
    """Return the top-level modules outside the standard library, `ml` and the container's
    libraries that `modules` import, each mapped to the first `ml` module importing it."""
    needed: dict[str, str] = {}
    for module in sorted(modules):
        for imported in read_imports(module_path(module), module):
            top = imported.module.split(".")[0]
            if imported.lazy and not follow_lazy:
                continue
            if not top or top == PACKAGE or top in sys.stdlib_module_names or top in CONTAINER_MODULES:
                continue
            needed.setdefault(top, module)
    return needed


def declared_requirements() -> dict[str, str]:
    """Return the requirement strings of pyproject.toml (dependencies and every extra) by
    normalised distribution name; empty when the project file is not present."""
    if not PYPROJECT.is_file():
        return {}
    project = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    declared: dict[str, str] = {}
    for requirement in requirements:
        name = requirement_name(requirement)
        declared.setdefault(name, requirement.strip())
    return declared


def requirement_name(requirement: str) -> str:
    """Return the normalised distribution name of a requirement line (PEP 503)."""
    match = _REQUIREMENT_NAME.match(requirement)
    if not match:
        raise DependencyError(f"invalid requirement {requirement!r}; expected a line such as 'holidays>=0.60,<1'")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def package_requirements(model: str) -> list[str]:
    """Return the lines of `ml/<model>/requirements.txt`, without comments and blank lines."""
    path = PACKAGE_DIR / model / REQUIREMENTS_FILE
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return [line for line in lines if line]


def resolve_requirements(model: str, imported: dict[str, str]) -> list[str]:
    """Return sorted requirement lines for the imported third-party modules and the model's
    own requirements.txt; raise DependencyError for a module no declared requirement provides."""
    requirements = {requirement_name(line): line for line in package_requirements(model)}
    declared = declared_requirements()
    distributions = importlib.metadata.packages_distributions()
    for top, importer in sorted(imported.items()):
        names = [requirement_name(name) for name in distributions.get(top, [top])]
        if any(name in requirements for name in names):
            continue
        spec = next((declared[name] for name in names if name in declared), None)
        if spec is None:
            raise DependencyError(
                f"{importer} imports {top}, which the SageMaker scikit-learn container lacks and "
                f"{PYPROJECT.name} does not declare; add it to the ml extra or to ml/{model}/{REQUIREMENTS_FILE}"
            )
        requirements[requirement_name(spec)] = spec
    return [requirements[name] for name in sorted(requirements)]


_PROBE = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
handlers = importlib.import_module(sys.argv[2])
handlers.model_fn(sys.argv[3])
loaded = sorted(name for name in sys.modules if name == "ml" or name.startswith("ml."))
with open(sys.argv[4], "w", encoding="utf-8") as output:
    json.dump(loaded, output)
"""


def modules_loaded_by_model_fn(model: str, artifact_dir: Path, timeout_seconds: float = 600) -> set[str]:
    """Load the artifact with the model's `model_fn` in a child process and return the `ml` modules it imported.

    These include the modules that only the pickled objects refer to.
    """
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "modules.json"
        command = [
            sys.executable, "-I", "-c", _PROBE,
            str(PROJECT_ROOT), f"{PACKAGE}.{model}.inference", str(artifact_dir), str(output),
        ]
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_seconds, cwd=scratch)
        except subprocess.TimeoutExpired as error:
            raise DependencyError(f"model_fn of {model} did not load {artifact_dir} within {timeout_seconds:.0f} s") from error
        if completed.returncode != 0:
            detail = completed.stderr.strip().splitlines()[-1:] or ["no error output"]
            raise DependencyError(
                f"model_fn of {model} failed to load {artifact_dir}: {detail[0]}; "
                f"check that the folder holds an artifact trained by this version of ml/{model}"
            )
        return set(json.loads(output.read_text("utf-8")))
