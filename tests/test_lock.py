"""The lock files (requirements/*.txt) agree with pyproject.toml and with the virtualenv.

``lock_drift`` reads pyproject.toml and the two lock files and returns one sentence per
disagreement: a dependency named on one side only, a pin outside its range, a version that differs
between the runtime and the test lock, and (through the installed packages' metadata, which the
install test shows to be the locked versions) a dependency of a dependency, or of an extra, that is
missing from a lock or a locked package that nothing needs any more. The drift tests run it on
modified copies to show it notices.

``make lock`` needs the network (PyPI), so the tests that run it are opt-in:
``GQL_USERS_TEST_LOCK=1 pytest tests/test_lock.py``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from types import ModuleType

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = REPO_ROOT / "pyproject.toml"
RUN_LOCK = REPO_ROOT / "requirements" / "run.txt"
TEST_LOCK = REPO_ROOT / "requirements" / "test.txt"
LOCKFILE_SCRIPT = REPO_ROOT / "requirements" / "lockfile.py"
DIRECT = "gql-users (pyproject.toml)"


def _load_lockfile() -> ModuleType:
    """requirements/lockfile.py, which `make` runs as a script, imported for its parser."""
    spec = importlib.util.spec_from_file_location("lockfile", LOCKFILE_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lockfile = _load_lockfile()
canonical = lockfile.canonical


def lock_target() -> dict[str, str]:
    """The marker environment the Makefile resolves the locks for (its --python-version)."""
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"--python-version (\d+)\.(\d+)", makefile)
    assert match, "the Makefile's lock command names no --python-version"
    version = f"{match.group(1)}.{match.group(2)}"
    environment = default_environment()
    environment.update(
        python_version=version,
        python_full_version=f"{version}.0",
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="x86_64",
        os_name="posix",
    )
    return environment


def read_direct(lock: Path) -> set[str]:
    """Names whose ``# via`` annotation in a lock file names the project itself."""
    direct: set[str] = set()
    current: str | None = None
    for line in lock.read_text(encoding="utf-8").splitlines():
        pin = lockfile.PIN.match(line)
        if pin:
            current = canonical(pin.group(1))
        elif current and line.lstrip().startswith("#") and DIRECT in line:
            direct.add(current)
    return direct


def closure(requirements: Iterable[Requirement], environment: dict[str, str]) -> dict[str, str]:
    """Every distribution these requirements pull in, through the installed metadata:
    ``{name: who needs it first}``; a name that is not installed is followed no further."""
    needed: dict[str, str] = {}
    pending = [(requirement, "pyproject.toml") for requirement in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement, parent = pending.pop()
        name = canonical(requirement.name)
        needed.setdefault(name, parent)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for text in requires:
            child = Requirement(text)
            applies = child.marker is None or any(
                child.marker.evaluate({**environment, "extra": extra})
                for extra in (requirement.extras or {""})
            )
            if applies:
                pending.append((child, name))
    return needed


def lock_drift(pyproject: Path, run_lock: Path, test_lock: Path) -> list[str]:
    """Every disagreement between pyproject.toml and the two lock files, one sentence each."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    runtime = [Requirement(text) for text in project["dependencies"]]
    test_extra = [Requirement(text) for text in project["optional-dependencies"]["test"]]
    environment = lock_target()
    problems: list[str] = []
    run_pins = lockfile.read_pins(run_lock)
    test_pins = lockfile.read_pins(test_lock)
    for lock, pins, requirements in (
        (run_lock, run_pins, runtime),
        (test_lock, test_pins, runtime + test_extra),
    ):
        named = {canonical(requirement.name): requirement for requirement in requirements}
        direct = read_direct(lock)
        for name, requirement in sorted(named.items()):
            if name not in pins:
                problems.append(f"{name} is in pyproject.toml but not pinned in {lock.name}")
            elif not requirement.specifier.contains(pins[name], prereleases=True):
                problems.append(
                    f"{name}=={pins[name]} in {lock.name} is outside pyproject.toml's "
                    f"{requirement.specifier}"
                )
            elif name not in direct:
                problems.append(f"{name} is in pyproject.toml but {lock.name} does not say so")
        for name in sorted(direct - named.keys()):
            problems.append(f"{name} is locked in {lock.name} for pyproject.toml, which lacks it")
        needed = closure(requirements, environment)
        for name in sorted(needed.keys() - pins.keys() - named.keys()):
            problems.append(f"{name} (needed by {needed[name]}) is not pinned in {lock.name}")
        for name in sorted(pins.keys() - needed.keys()):
            problems.append(f"{name} is pinned in {lock.name} but nothing needs it")
    for name in sorted(run_pins.keys() & test_pins.keys()):
        if run_pins[name] != test_pins[name]:
            problems.append(
                f"{name} is {run_pins[name]} in {run_lock.name} but {test_pins[name]} in "
                f"{test_lock.name}"
            )
    return problems


# --- the committed files ----------------------------------------------------------------------

# lock_drift follows dependencies through the installed metadata, which is the locked one only in
# a virtualenv installed from the test lock; elsewhere the tests that use it would report the
# virtualenv, not the files, so they stand aside and the virtualenv test below says what differs.
locked_virtualenv = pytest.mark.skipif(
    bool(lockfile.differences(lockfile.read_pins(TEST_LOCK), lockfile.installed())),
    reason="the virtualenv is not requirements/test.txt (make test installs it)",
)


@locked_virtualenv
def test_the_locks_agree_with_pyproject() -> None:
    assert lock_drift(PYPROJECT, RUN_LOCK, TEST_LOCK) == []


def test_every_locked_package_has_hashes() -> None:
    for lock in (RUN_LOCK, TEST_LOCK, REPO_ROOT / "requirements" / "tools.txt"):
        text = lock.read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        assert blocks and all("--hash=sha256:" in block for block in blocks), lock.name
        assert str(REPO_ROOT) not in text and "/home/" not in text and "/tmp" not in text


def test_the_runtime_lock_is_part_of_the_test_lock() -> None:
    """Resolved together: installing the test extra moves no runtime package."""
    run_pins = lockfile.read_pins(RUN_LOCK)
    test_pins = lockfile.read_pins(TEST_LOCK)
    assert run_pins and run_pins.items() <= test_pins.items()
    assert test_pins.keys() - run_pins.keys(), "the test lock adds nothing to the runtime lock"


def test_the_virtualenv_holds_exactly_the_test_lock() -> None:
    """`make test` installs requirements/test.txt: pip freeze shows exactly those pins."""
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    frozen = {
        canonical(name): version
        for name, version in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$", freeze, re.M)
    }
    assert frozen == lockfile.read_pins(TEST_LOCK)
    checked = subprocess.run(
        [sys.executable, str(LOCKFILE_SCRIPT), str(TEST_LOCK)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert f"{len(frozen)} packages at the locked versions" in checked.stdout


# --- drift is noticed -------------------------------------------------------------------------


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, Path, Path]:
    targets = []
    for source in (PYPROJECT, RUN_LOCK, TEST_LOCK):
        target = tmp_path / source.name
        shutil.copyfile(source, target)
        targets.append(target)
    return targets[0], targets[1], targets[2]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def drop_pin(lock: Path, name: str) -> None:
    """Remove one package's block (pin, hashes, annotations) from a lock file."""
    text = lock.read_text(encoding="utf-8")
    block = re.compile(rf"^{re.escape(name)}==.*?(?=^[A-Za-z0-9]|\Z)", re.M | re.S)
    assert block.search(text), f"{name} is not pinned in {lock.name}"
    lock.write_text(block.sub("", text, count=1), encoding="utf-8")


def dependency_line(text: str, name: str) -> re.Match[str]:
    """The one line of a pyproject.toml that requires ``name``."""
    (found,) = re.finditer(rf'^( *)"{re.escape(name)}[\[<>=!~;," ].*\n', text, re.M)
    return found


def replace_dependency(pyproject: Path, name: str, *lines: str) -> None:
    """Replace the line of pyproject.toml that requires ``name`` by ``lines`` (none: remove it)."""
    text = pyproject.read_text(encoding="utf-8")
    found = dependency_line(text, name)
    new = "".join(f'{found.group(1)}"{requirement}",\n' for requirement in lines)
    pyproject.write_text(text[: found.start()] + new + text[found.end() :], encoding="utf-8")


def add_dependency(pyproject: Path, after: str, requirement: str) -> None:
    """Add ``requirement`` to the list that requires ``after``, on the next line."""
    text = pyproject.read_text(encoding="utf-8")
    found = dependency_line(text, after)
    new = f'{found.group(1)}"{requirement}",\n'
    pyproject.write_text(text[: found.end()] + new + text[found.end() :], encoding="utf-8")


def add_rich_sibling(pyproject: Path, run_lock: Path, test_lock: Path) -> None:
    add_dependency(pyproject, "rich", "tomli-w>=1.0")


def unpin_xdist(pyproject: Path, run_lock: Path, test_lock: Path) -> None:
    drop_pin(test_lock, "pytest-xdist")
    drop_pin(test_lock, "execnet")


def drop_rich(pyproject: Path, run_lock: Path, test_lock: Path) -> None:
    replace_dependency(pyproject, "rich")


def add_sqlalchemy_extra(pyproject: Path, run_lock: Path, test_lock: Path) -> None:
    replace_dependency(pyproject, "sqlalchemy", "sqlalchemy[asyncio,postgresql-psycopg]")


def narrow_aiohttp(pyproject: Path, run_lock: Path, test_lock: Path) -> None:
    replace_dependency(pyproject, "aiohttp", f"aiohttp<{lockfile.read_pins(run_lock)['aiohttp']}")


def move_runtime_dateutil(pyproject: Path, run_lock: Path, test_lock: Path) -> None:
    pinned = lockfile.read_pins(run_lock)["python-dateutil"]
    edit(run_lock, f"python-dateutil=={pinned} ", "python-dateutil==4.0.0 ")


# Each change, made to a copy, and every sentence lock_drift must say about it; {name} is the
# committed pin of that package.
DRIFTS = {
    "a runtime dependency added to pyproject.toml only": (
        add_rich_sibling,
        [
            "tomli-w is in pyproject.toml but not pinned in run.txt",
            "tomli-w is in pyproject.toml but not pinned in test.txt",
        ],
    ),
    "a test dependency and its dependency dropped from the lock": (
        unpin_xdist,
        [
            "pytest-xdist is in pyproject.toml but not pinned in test.txt",
            "execnet (needed by pytest-xdist) is not pinned in test.txt",
        ],
    ),
    # What only rich needed in the runtime set is left over; schemathesis needs it in the test set.
    "a runtime dependency removed from pyproject.toml only": (
        drop_rich,
        [
            "rich is locked in run.txt for pyproject.toml, which lacks it",
            "markdown-it-py is pinned in run.txt but nothing needs it",
            "mdurl is pinned in run.txt but nothing needs it",
            "pygments is pinned in run.txt but nothing needs it",
            "rich is pinned in run.txt but nothing needs it",
            "rich is locked in test.txt for pyproject.toml, which lacks it",
        ],
    ),
    "an extra added to a dependency": (
        add_sqlalchemy_extra,
        [
            "psycopg (needed by sqlalchemy) is not pinned in run.txt",
            "psycopg (needed by sqlalchemy) is not pinned in test.txt",
        ],
    ),
    "a range that no longer holds the pin": (
        narrow_aiohttp,
        [
            "aiohttp=={aiohttp} in run.txt is outside pyproject.toml's <{aiohttp}",
            "aiohttp=={aiohttp} in test.txt is outside pyproject.toml's <{aiohttp}",
        ],
    ),
    "the runtime lock moved apart from the test lock": (
        move_runtime_dateutil,
        ["python-dateutil is 4.0.0 in run.txt but {python-dateutil} in test.txt"],
    ),
}


@locked_virtualenv
@pytest.mark.parametrize("change", DRIFTS)
def test_drift_is_reported(change: str, copies: tuple[Path, Path, Path]) -> None:
    modify, expected = DRIFTS[change]
    pins = lockfile.read_pins(TEST_LOCK)
    assert lock_drift(*copies) == []
    modify(*copies)
    assert lock_drift(*copies) == [sentence.format_map(pins) for sentence in expected]


@locked_virtualenv
def test_the_virtualenv_check_reports_each_difference(tmp_path: Path) -> None:
    """requirements/lockfile.py (run by make after each install) fails on a changed lock."""
    pins = lockfile.read_pins(TEST_LOCK)
    changed = dict(pins)
    changed["aiohttp"] = "3.0.0"
    del changed["yarl"]
    changed["tomli-w"] = "1.0.0"
    lock = tmp_path / "lock.txt"
    lock.write_text("".join(f"{name}=={version}\n" for name, version in changed.items()))
    checked = subprocess.run(
        [sys.executable, str(LOCKFILE_SCRIPT), str(lock)], capture_output=True, text=True
    )
    assert checked.returncode == 1
    assert checked.stderr.splitlines()[1:] == [
        f"  aiohttp is {pins['aiohttp']}, the lock says 3.0.0",
        "  tomli-w==1.0.0 is locked but not installed",
        f"  yarl=={pins['yarl']} is installed but not locked",
    ]


def fake_distribution(site_packages: Path, name: str, version: str) -> None:
    """An installed distribution as pip leaves one: metadata and a RECORD, no code."""
    info = site_packages / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    files = ("METADATA", "INSTALLER", "RECORD")
    (info / "RECORD").write_text("".join(f"{info.name}/{file},,\n" for file in files))


def test_the_virtualenv_check_prunes_what_the_lock_dropped(tmp_path: Path) -> None:
    """A package a newer lock no longer names is uninstalled (pip install -r never does)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    (site_packages,) = venv.glob("lib/python*/site-packages")
    fake_distribution(site_packages, "kept_package", "1.0")
    fake_distribution(site_packages, "dropped_package", "2.0")
    lock = tmp_path / "lock.txt"
    lock.write_text("# a lock\nkept-package==1.0 \\\n    --hash=sha256:00\n")
    command = [str(python), str(LOCKFILE_SCRIPT), str(lock)]

    before = subprocess.run(command, capture_output=True, text=True)
    assert before.returncode == 1
    assert "dropped-package==2.0 is installed but not locked" in before.stderr
    assert (site_packages / "dropped_package-2.0.dist-info").exists()

    pruned = subprocess.run([*command[:2], "--prune", str(lock)], capture_output=True, text=True)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines() == [
        f"Uninstalling what {lock} does not name: dropped-package",
        "kept-package==1.0",
        f"pip freeze matches {lock}: 1 packages at the locked versions.",
    ]
    assert not (site_packages / "dropped_package-2.0.dist-info").exists()
    assert subprocess.run(command, capture_output=True).returncode == 0


# --- make lock (network: opt-in) --------------------------------------------------------------

needs_network = pytest.mark.skipif(
    os.environ.get("GQL_USERS_TEST_LOCK") != "1",
    reason="runs `make lock` against PyPI; set GQL_USERS_TEST_LOCK=1",
)


@pytest.fixture(scope="module")
def lock_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtualenv holding the lock tool, shared by the `make lock` tests."""
    venv = tmp_path_factory.mktemp("lock") / "venv"
    subprocess.run(
        ["make", "-s", f"VENV={venv}", f"{venv}/lock-tools/bin/uv"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    yield venv


def project_copy(destination: Path) -> Path:
    for name in ("Makefile", "pyproject.toml", "README.md"):
        shutil.copyfile(REPO_ROOT / name, destination / name)
    shutil.copytree(REPO_ROOT / "requirements", destination / "requirements")
    return destination


def make_lock(directory: Path, venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", f"VENV={venv}", "lock", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
    )


def lock_bytes(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.glob("requirements/*.txt"))}


@needs_network
def test_make_lock_rewrites_the_committed_files_byte_for_byte(
    lock_venv: Path, tmp_path: Path
) -> None:
    project = project_copy(tmp_path)
    committed = lock_bytes(project)
    for path in project.glob("requirements/*.txt"):
        if path.name != "tools.txt":  # the lock tool itself comes from it
            path.unlink()
    result = make_lock(project, lock_venv)
    assert result.returncode == 0, result.stderr
    assert lock_bytes(project) == committed


@needs_network
def test_a_conflict_fails_make_lock_and_keeps_the_locks(lock_venv: Path, tmp_path: Path) -> None:
    """The test extra may not hold back a runtime dependency silently: that is an error."""
    project = project_copy(tmp_path)
    committed = lock_bytes(project)
    # waldur-api-client needs python-dateutil<3.
    add_dependency(project / "pyproject.toml", "waldur-api-client", "python-dateutil>=3")
    result = make_lock(project, lock_venv)
    assert result.returncode != 0
    assert "No solution found" in result.stderr
    assert "python-dateutil" in result.stderr
    assert lock_bytes(project) == committed
