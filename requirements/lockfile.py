"""Compare a virtualenv with a lock file of this directory (``make lock`` writes them).

    python requirements/lockfile.py requirements/test.txt          compare; exit 1 on a difference
    python requirements/lockfile.py --prune requirements/test.txt  first remove what it lacks

Run it with the virtualenv's own Python: it reads that interpreter's installed distributions. It
prints one line per locked package (``name==version``, the same as ``pip freeze``) and then every
difference: a locked package missing or at another version, or an installed one the lock does not
name (pip never removes a package that a newer lock dropped; ``--prune`` does). pip, setuptools,
wheel and the project itself are not locked. Standard library only, so it runs before anything is
installed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

PROJECT = "gql-users"
# What a virtualenv brings or a build installs; pip freeze leaves these out too.
UNLOCKED = frozenset({"pip", "setuptools", "wheel", "distribute", PROJECT})
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def canonical(name: str) -> str:
    """A distribution name normalised (PEP 503): ``Typing_Extensions`` -> ``typing-extensions``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(lock: Path) -> dict[str, str]:
    """``{name: version}`` of every ``name==version`` line of a lock file."""
    pins: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def installed() -> dict[str, str]:
    """``{name: version}`` of this interpreter's distributions, less pip's own and the project."""
    found: dict[str, str] = {}
    for dist in distributions():
        name = canonical(dist.metadata["Name"] or "")
        if name and name not in UNLOCKED:
            found[name] = dist.version
    return found


def differences(pins: dict[str, str], present: dict[str, str]) -> list[str]:
    """Every way ``present`` differs from ``pins``, one sentence each, sorted by name."""
    problems = []
    for name in sorted(pins.keys() | present.keys()):
        want, have = pins.get(name), present.get(name)
        if want is None:
            problems.append(f"{name}=={have} is installed but not locked")
        elif have is None:
            problems.append(f"{name}=={want} is locked but not installed")
        elif want != have:
            problems.append(f"{name} is {have}, the lock says {want}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lock", type=Path, help="a lock file, e.g. requirements/test.txt")
    parser.add_argument(
        "--prune", action="store_true", help="uninstall installed packages the lock does not name"
    )
    args = parser.parse_args(argv)
    pins = read_pins(args.lock)
    if not pins:
        print(f"{args.lock}: no name==version lines", file=sys.stderr)
        return 1
    present = installed()
    extra = sorted(name for name in present if name not in pins)
    if args.prune and extra:
        print(f"Uninstalling what {args.lock} does not name: {' '.join(extra)}")
        subprocess.run(
            [sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", *extra], check=True
        )
        present = installed()
    problems = differences(pins, present)
    for name in sorted(pins):
        print(f"{name}=={present.get(name, '(not installed)')}")
    if problems:
        print(f"The virtualenv differs from {args.lock}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"pip freeze matches {args.lock}: {len(pins)} packages at the locked versions.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
