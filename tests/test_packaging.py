"""The install tells the truth: the Python it asks for runs every pinned package, and every
third-party package the code imports is declared."""
import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CODE = ("flows", "tasks", "lstm_models")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned() -> dict[str, str]:
    pins = (line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    return {norm(name): version.strip() for name, version in pins}


def test_the_lowest_python_asked_for_runs_every_pinned_package():
    floor = Version(re.search(r">=\s*([\d.]+)", PYPROJECT["project"]["requires-python"]).group(1))
    assert sys.version_info[:2] >= (floor.major, floor.minor)  # this interpreter is allowed too
    refused = {}
    for name, version in pinned().items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # pinned for a platform or an extra this machine does not install
        needs = dist.metadata.get("Requires-Python")
        if needs and floor not in SpecifierSet(needs):
            refused[f"{name}=={version}"] = needs
    assert not refused, f"requires-python says >={floor}, but these pins need more: {refused}"


def imported_top_level(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_is_declared():
    declared = {norm(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    owners = metadata.packages_distributions()
    undeclared = {}
    for module in set().union(*(imported_top_level(ROOT / d) for d in CODE)):
        if module in sys.stdlib_module_names or module in CODE or module == "__future__":
            continue
        dists = {norm(d) for d in owners.get(module, [])}
        assert dists, f"{module} is imported but no installed distribution provides it"
        if not dists & declared:
            undeclared[module] = sorted(dists)
    assert not undeclared, f"imported but not in pyproject's dependencies: {undeclared}"


def test_every_declared_dependency_is_pinned():
    pins = pinned()
    for req in PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["test"]:
        name = norm(Requirement(req).name)
        assert name in pins, f"{name} is declared but not pinned in constraints.txt"
        assert Version(pins[name]) in Requirement(req).specifier, f"{name}=={pins[name]} does not meet {req}"


def test_the_container_files_match_the_project():
    """What can be checked here without a Docker daemon: the image copies every package the
    project installs, the compose file's Prefect server is the pinned version on PostgreSQL
    through asyncpg (installed), and its worker serves the work pool prefect.yaml deploys to."""
    import yaml

    dockerfile = (ROOT / "Dockerfile").read_text()
    top_level = {p.split(".")[0] for p in PYPROJECT["tool"]["setuptools"]["packages"]}
    assert all(f"COPY {p} {p}" in dockerfile for p in top_level)
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert compose["prefect-server"]["image"] == f"prefecthq/prefect:{pinned()['prefect']}-python3.11"
    assert compose["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")
    assert "asyncpg" in pinned()
    pools = {d["work_pool"]["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    assert pools == {"lstm-pool"} and "--pool lstm-pool" in dockerfile
    assert compose["worker"]["environment"]["AWS_ENDPOINT_URL"].startswith("http://minio:")
