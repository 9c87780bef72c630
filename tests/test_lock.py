"""The committed locks agree with pyproject.toml, and this venv was installed from the lock.

`make install` installs exactly ``requirements.lock``; `make test-compat`
installs ``requirements-oldest.lock`` (every direct dependency at the oldest
release pyproject.toml allows). Both are refreshed by `make lock`. These
tests fail when someone edits pyproject.toml without refreshing them.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    return {canonicalize_name(n): v for n, v in _PIN.findall(text)}


def requirements(*extras: str, groups: tuple[str, ...] = ()) -> list[Requirement]:
    """The project's requirements with these extras (self-references like engine[all] expanded)."""
    project = PYPROJECT["project"]
    own = canonicalize_name(project["name"])
    out, todo, seen = [Requirement(r) for r in project["dependencies"]], list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in project["optional-dependencies"][extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == own:
                todo.extend(req.extras)
            else:
                out.append(req)
    for group in groups:
        out.extend(Requirement(r) for r in PYPROJECT["dependency-groups"][group])
    env = default_environment()
    return [r for r in out if r.marker is None or r.marker.evaluate({**env, "extra": ""})]


def test_every_requirement_is_pinned_in_the_lock_within_its_range() -> None:
    locked = pins("requirements.lock")
    wanted = requirements("dev", groups=("bootstrap",))
    wanted += [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    problems = []
    for req in wanted:
        version = locked.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name} is not in requirements.lock")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} in requirements.lock is outside {req.specifier}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


def test_the_oldest_lock_holds_each_direct_dependency_at_its_lower_bound() -> None:
    oldest = pins("requirements-oldest.lock")
    problems = []
    for req in requirements("all"):
        floors = [s.version for s in req.specifier if s.operator in (">=", "==", "~=")]
        if not floors:
            problems.append(f"{req.name} has no lower bound in pyproject.toml")
            continue
        got = oldest.get(canonicalize_name(req.name))
        if got is None or Version(got) != Version(floors[0]):
            problems.append(
                f"{req.name}: requirements-oldest.lock has {got}, pyproject.toml's floor is {floors[0]}"
            )
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-oldest.lock"])
def test_every_pin_carries_hashes(lock: str) -> None:
    text = (ROOT / lock).read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        if _PIN.match(block):
            assert "--hash=sha256:" in block, f"{block.splitlines()[0]} has no hash"


def test_this_environment_was_installed_from_the_lock() -> None:
    locked = pins("requirements.lock")
    own = canonicalize_name(PYPROJECT["project"]["name"])
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differ = {
        name: (version, locked[name])
        for name, version in installed.items()
        if name in locked and name != own and version != locked[name]
    }
    assert not differ, f"installed versions differ from requirements.lock (installed, locked): {differ}"
    missing = sorted(set(locked) - set(installed))
    assert not missing, f"locked but not installed: {missing} (run `make install`)"
