"""The install tells the truth: the Python it asks for runs every pinned package, and every
third-party package the code imports is declared."""
import ast
import os
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


def test_compose_comes_up_in_order_on_a_first_start():
    """No Docker daemon (or compose client) here, so the file is read: every service another
    depends on has a healthcheck, each dependency waits for health (or, for the one-shot bucket
    job, its success) rather than a start, and the long-running services restart."""
    import yaml

    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    for name, service in services.items():
        needs = service.get("depends_on", {})
        assert isinstance(needs, dict), f"{name}: depends_on in the short form waits for nothing"
        for dep, cond in needs.items():
            want = "service_completed_successfully" if "restart" in services[dep] and \
                services[dep]["restart"] == "on-failure" else "service_healthy"
            assert cond == {"condition": want}, (name, dep, cond)
            if want == "service_healthy":
                assert services[dep]["healthcheck"]["test"], dep
    assert "/api/health" in " ".join(services["prefect-server"]["healthcheck"]["test"])
    assert services["worker"]["depends_on"] == {"prefect-server": {"condition": "service_healthy"},
                                                "make-bucket": {"condition": "service_completed_successfully"}}
    assert all(services[s]["restart"] in ("unless-stopped", "always") for s in ("prefect-server", "minio", "worker"))



def test_setup_names_the_package_to_install_when_python_cannot_make_a_venv(tmp_path):
    """A stock Debian/Ubuntu Python without python3-venv: ./dev.sh stops first, in one line that
    names the package (here ensurepip is hidden by a module that fails to import, as Debian's
    stripped one does)."""
    import shutil
    import subprocess

    for name in ("dev.sh", "constraints.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shim = tmp_path / "shim" / "ensurepip"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('ensurepip is disabled in Debian/Ubuntu for the system python')\n")
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(tmp_path / "shim")}
    proc = subprocess.run(["bash", str(tmp_path / "dev.sh"), "setup"], capture_output=True, text=True, env=env, timeout=60)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert proc.returncode == 2 and not (tmp_path / ".venv").exists(), proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {sys.executable} cannot create a virtual environment (no venv/ensurepip); "
        f"on Debian/Ubuntu: sudo apt-get install python{version}-venv"]
