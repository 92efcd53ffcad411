#!/usr/bin/env python3
"""Audit kehu's pinned dependencies against PyPI's advisories: ``scripts/audit-dependencies.py``.

This is NOT pip-audit. pip-audit asks, for every installed version, PyPI's release JSON
(``/pypi/NAME/VERSION/json``) or OSV. Where neither answers (this build machine: the release JSON
is 404, OSV unreachable), it cannot audit at all. This script asks the same release JSON first and,
when that is missing, falls back to the project JSON (``/pypi/NAME/json``), whose
``vulnerabilities`` lists the advisories of the LATEST release only. So:

- a pin that equals the latest release is *checked*: its advisories are the ones listed;
- an older pin is *unchecked*: an advisory fixed before the latest release is not listed anywhere
  we can read. Advisories listed for the latest release are still evaluated against the pin with
  their ``fixed_in`` versions (a pin below a fix is affected unless a fix of its own minor series
  is at or below it; an advisory without a fix is assumed to reach back to the pin). The report
  says why the pin is older, where that is known: newer releases need another Python, an
  installed package's requirement excludes them, or the comment on the pin in pyproject.toml.

Run it with the interpreter of the environment to audit (``.venv/bin/python scripts/...``): by
default it reads that environment's installed distributions (importlib.metadata), skipping the
ones installed from a local directory (kehu itself); ``--pins pyproject.toml`` reads the ``==``
pins instead. Only https://pypi.org/pypi/... is contacted, each request with ``--timeout``.

Exit status: 1 when an advisory (not withdrawn) affects an audited version; 2 when no advisory
does but some lookup failed (the audit is incomplete, so not clean); 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

PYPI = "https://pypi.org/pypi"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"  # comments explain old pins

NOT_PIP_AUDIT = (
    "This is not pip-audit. It reads PyPI's release JSON where it answers and otherwise the "
    "project JSON, which lists advisories for the latest release only."
)
LIMITATIONS = (
    "A pin older than the latest release is 'unchecked' when its release JSON is missing: an "
    "advisory fixed before the latest release is invisible to this script.",
    "Advisories listed for the latest release are matched to older pins by fixed_in alone (no "
    "'introduced' bound): an advisory without a fix is assumed to affect the pin, and a fix in "
    "another minor series can over-report.",
    "No OSV, no PYSEC/GHSA databases beyond what PyPI's JSON carries, no hash or sdist checks, "
    "and nothing about packages installed from a local directory.",
)

Fetch = Callable[[str], dict[str, Any] | None]
"""Return the JSON document at a URL, ``None`` for 404; raise ``LookupError`` otherwise."""


@dataclass(frozen=True)
class Finding:
    """One advisory and whether it affects the audited version."""

    id: str
    aliases: list[str]
    fixed_in: list[str]
    link: str | None
    listed_for: str
    affects: bool
    why: str


@dataclass
class PackageReport:
    """What the audit found for one distribution."""

    name: str
    pinned: str
    latest: str | None = None
    newest_allowed: str | None = None
    status: str = "error"  # checked | unchecked | not-on-pypi | error
    basis: str | None = None  # release JSON | project JSON
    reasons: list[str] = field(default_factory=list)
    vulnerabilities: list[Finding] = field(default_factory=list)
    yanked: bool = False
    error: str | None = None

    @property
    def affected(self) -> bool:
        """Whether any advisory affects the pinned version."""
        return any(finding.affects for finding in self.vulnerabilities)


@dataclass(frozen=True)
class Dependent:
    """A requirement an installed distribution places on another one."""

    owner: str  # "ibis-framework 12.0.0"
    requirement: Requirement
    extra: str | None  # the extra the requirement belongs to, None when always required


def _parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def evaluate(pinned: Version, vulnerability: Mapping[str, Any], listed_for: Version) -> Finding:
    """Decide whether ``vulnerability``, listed by PyPI for ``listed_for``, affects ``pinned``."""
    fixed_text = [str(v) for v in vulnerability.get("fixed_in") or []]
    fixed = sorted(v for v in map(_parse_version, fixed_text) if v is not None)

    def finding(affects: bool, why: str) -> Finding:
        return Finding(
            id=str(vulnerability.get("id")),
            aliases=[str(a) for a in vulnerability.get("aliases") or []],
            fixed_in=fixed_text,
            link=vulnerability.get("link"),
            listed_for=str(listed_for),
            affects=affects,
            why=why,
        )

    if vulnerability.get("withdrawn"):
        return finding(False, "withdrawn")
    if pinned == listed_for:
        return finding(True, "listed for this exact version")
    if not fixed:
        return finding(True, f"no fixed version; listed for {listed_for}, assumed older")
    fixes_above = [v for v in fixed if v > pinned]
    if not fixes_above:
        return finding(False, f"fixed in {max(fixed)} <= {pinned}")
    backports = [v for v in fixed if v <= pinned and v.release[:2] == pinned.release[:2]]
    if backports:
        return finding(False, f"fixed in {max(backports)} of its own series")
    return finding(True, f"below fixed_in {min(fixes_above)}")


def _release_is_usable(files: Sequence[Mapping[str, Any]], python: Version) -> bool:
    """Whether a release has a file that is not yanked and admits ``python``."""
    for file in files:
        if file.get("yanked"):
            continue
        spec = file.get("requires_python")
        try:
            if not spec or python in SpecifierSet(str(spec)):
                return True
        except InvalidSpecifier:
            return True  # pip would ignore a broken marker; so do we
    return False


def newest_release(
    releases: Mapping[str, Sequence[Mapping[str, Any]]],
    python: Version,
    specifiers: Iterable[SpecifierSet] = (),
) -> Version | None:
    """Return the newest final release installable on ``python`` that meets every specifier."""
    specs = list(specifiers)
    candidates = []
    for text, files in releases.items():
        version = _parse_version(text)
        if version is None or version.is_prerelease or not files:
            continue
        if not _release_is_usable(files, python):
            continue
        if all(spec.contains(version, prereleases=True) for spec in specs):
            candidates.append(version)
    return max(candidates, default=None)


def local_names() -> set[str]:
    """Names of the distributions installed from a local directory (kehu itself, editable)."""
    names: set[str] = set()
    for dist in metadata.distributions():
        direct_url = dist.read_text("direct_url.json")
        if direct_url and "dir_info" in json.loads(direct_url):
            names.add(canonicalize_name(dist.metadata["Name"]))
    return names


def installed_dependents() -> list[Dependent]:
    """Every requirement of every installed PyPI distribution, with the extra that gates it.

    The audited project's own requirements are left out: they are the pins themselves.
    """
    local = local_names()
    dependents: dict[tuple[str, str, str | None], Dependent] = {}
    for dist in metadata.distributions():
        if canonicalize_name(dist.metadata["Name"]) in local:
            continue
        owner = f"{dist.metadata['Name']} {dist.version}"
        for text in dist.requires or []:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            extra = None
            if requirement.marker is not None:
                match = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", str(requirement.marker))
                extra = match.group(1) if match else None
                env = {"extra": extra or ""}
                if not requirement.marker.evaluate(env):
                    continue  # another platform or Python
            dependents.setdefault(
                (owner, str(requirement), extra), Dependent(owner, requirement, extra)
            )
    return list(dependents.values())


def _why_older(
    name: str,
    pinned: Version,
    latest: Version,
    releases: Mapping[str, Sequence[Mapping[str, Any]]],
    python: Version,
    dependents: Sequence[Dependent],
    note: str | None,
) -> tuple[list[str], Version | None]:
    """Explain why ``pinned`` is older than ``latest``; also return the newest allowed release."""
    reasons = []
    newest_for_python = newest_release(releases, python)
    if newest_for_python is not None and newest_for_python < latest:
        needs = {
            str(file.get("requires_python"))
            for file in releases.get(str(latest), [])
            if file.get("requires_python")
        }
        reasons.append(
            f"releases after {newest_for_python} need Python {', '.join(sorted(needs)) or '?'}"
            f" (this is {python})"
        )
    constraints = []
    for dependent in dependents:
        if canonicalize_name(dependent.requirement.name) != name:
            continue
        spec = dependent.requirement.specifier
        if spec and not spec.contains(latest, prereleases=True):
            gate = f" [extra {dependent.extra}]" if dependent.extra else ""
            reasons.append(f"{dependent.owner}{gate} requires {name}{spec}")
            constraints.append(spec)
    allowed = newest_release(releases, python, constraints)
    if allowed is not None and allowed > pinned:
        reasons.append(f"{allowed} is allowed by Python and the installed requirements")
    if note:
        reasons.append(f"pin comment: {note}")
    if not reasons:
        reasons.append("no known constraint")
    return reasons, allowed


def audit_package(
    name: str,
    pinned_text: str,
    fetch: Fetch,
    *,
    python: Version,
    dependents: Sequence[Dependent] = (),
    note: str | None = None,
) -> PackageReport:
    """Audit one pinned distribution with the JSON documents ``fetch`` returns."""
    report = PackageReport(name=name, pinned=pinned_text)
    pinned = _parse_version(pinned_text)
    try:
        project = fetch(f"{PYPI}/{name}/json")
        if project is None:
            report.status = "not-on-pypi"
            return report
        latest_text = str(project["info"]["version"])
        latest = Version(latest_text)
        report.latest = latest_text
        releases = project.get("releases") or {}
        files = releases.get(pinned_text) or []
        report.yanked = bool(files) and all(file.get("yanked") for file in files)
        if pinned is None:
            report.error = f"cannot read version {pinned_text!r}"
            return report
        if pinned == latest:
            report.status, report.basis, report.newest_allowed = (
                "checked",
                "project JSON",
                latest_text,
            )
            listed, listed_for = project.get("vulnerabilities") or [], latest
        else:
            release = fetch(f"{PYPI}/{name}/{pinned_text}/json")
            reasons, allowed = _why_older(name, pinned, latest, releases, python, dependents, note)
            report.reasons, report.newest_allowed = reasons, str(allowed) if allowed else None
            if release is not None:
                report.status, report.basis = "checked", "release JSON"
                listed, listed_for = release.get("vulnerabilities") or [], pinned
            else:
                report.status, report.basis = "unchecked", "project JSON"
                listed, listed_for = project.get("vulnerabilities") or [], latest
        report.vulnerabilities = [evaluate(pinned, v, listed_for) for v in listed]
    except (LookupError, KeyError, TypeError, InvalidVersion) as exc:
        report.status, report.error = "error", f"{type(exc).__name__}: {exc}"
    return report


def fetch_json(url: str, timeout: float) -> dict[str, Any] | None:
    """GET a PyPI JSON document; ``None`` on 404, ``LookupError`` on any other failure."""
    if not url.startswith(PYPI + "/"):
        raise LookupError(f"refusing to contact {url}")
    request = urllib.request.Request(  # noqa: S310 - only https://pypi.org, checked above
        url, headers={"User-Agent": "kehu-audit-dependencies"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
            document: dict[str, Any] = json.load(response)
            return document
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise LookupError(f"HTTP {exc.code} from {url}") from exc
    except (OSError, ValueError) as exc:
        raise LookupError(f"{url}: {exc}") from exc


def installed_pins(notes: Mapping[str, str]) -> dict[str, tuple[str, str | None]]:
    """Installed distributions as ``{name: (version, note)}``, minus local-directory installs."""
    local = local_names()  # not on PyPI, nothing to ask
    pins: dict[str, tuple[str, str | None]] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name not in local:
            pins.setdefault(name, (dist.version, notes.get(name)))
    return pins


_PIN_LINE = re.compile(r'^\s*"(?P<req>[^"]+==[^"]+)"\s*,?\s*#\s*(?P<note>.*)$')


def pin_notes(path: Path) -> dict[str, str]:
    """Map each name to the comment on its ``"name==version",  # comment`` line."""
    notes: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN_LINE.match(line)
        if match:
            name = canonicalize_name(Requirement(match.group("req")).name)
            notes.setdefault(name, match.group("note").strip())
    return notes


def pyproject_pins(path: Path) -> dict[str, tuple[str, str | None]]:
    """Read the ``==`` pins of pyproject.toml (dependencies and extras) and their comments."""
    project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    notes = pin_notes(path)
    pins: dict[str, tuple[str, str | None]] = {}
    for text in requirements:
        requirement = Requirement(text)
        exact = [s.version for s in requirement.specifier if s.operator == "=="]
        if exact:
            name = canonicalize_name(requirement.name)
            pins[name] = (exact[0], notes.get(name))
    return pins


def run_audit(
    pins: Mapping[str, tuple[str, str | None]],
    fetch: Fetch,
    *,
    python: Version,
    dependents: Sequence[Dependent] = (),
    workers: int = 8,
) -> list[PackageReport]:
    """Audit every pin, a few lookups at a time, in name order."""

    def one(name: str) -> PackageReport:
        version, note = pins[name]
        return audit_package(name, version, fetch, python=python, dependents=dependents, note=note)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, sorted(pins)))


def exit_status(reports: Sequence[PackageReport]) -> int:
    """1 if an advisory affects a pin, else 2 if a lookup failed, else 0."""
    if any(report.affected for report in reports):
        return 1
    return 2 if any(report.status == "error" for report in reports) else 0


def summarize(reports: Sequence[PackageReport]) -> dict[str, int]:
    """Count packages by outcome for the last line."""
    return {
        "packages": len(reports),
        "checked": sum(r.status == "checked" for r in reports),
        "unchecked": sum(r.status == "unchecked" for r in reports),
        "not_on_pypi": sum(r.status == "not-on-pypi" for r in reports),
        "errors": sum(r.status == "error" for r in reports),
        "advisories_listed": sum(len(r.vulnerabilities) for r in reports),
        "affected": sum(r.affected for r in reports),
        "yanked": sum(r.yanked for r in reports),
    }


def to_json(reports: Sequence[PackageReport], python: Version, source: str) -> dict[str, Any]:
    """Render the whole audit as one JSON-ready object."""
    return {
        "tool": "scripts/audit-dependencies.py",
        "not_pip_audit": NOT_PIP_AUDIT,
        "limitations": list(LIMITATIONS),
        "python": str(python),
        "source": source,
        "summary": summarize(reports),
        "exit_status": exit_status(reports),
        "packages": [asdict(report) | {"affected": report.affected} for report in reports],
    }


def to_text(reports: Sequence[PackageReport], python: Version, source: str) -> str:
    """Render the audit as a table for a terminal, limitations first."""
    lines = [NOT_PIP_AUDIT, *(f"- {limit}" for limit in LIMITATIONS), ""]
    lines.append(f"{source}, Python {python}")
    lines.append(f"{'package':<28} {'pinned':<14} {'latest':<14} {'status':<11} advisories")
    for r in reports:
        advisories = ", ".join(
            f"{f.id}{' AFFECTS' if f.affects else ''} ({f.why})" for f in r.vulnerabilities
        )
        lines.append(
            f"{r.name:<28} {r.pinned:<14} {r.latest or '-':<14} {r.status:<11} "
            f"{advisories or ('-' if r.status != 'error' else r.error)}"
            f"{' [pinned release is yanked]' if r.yanked else ''}"
        )
        lines.extend(f"{'':<30}older: {reason}" for reason in r.reasons)
    counts = summarize(reports)
    lines.append("")
    lines.append(", ".join(f"{key.replace('_', ' ')} {value}" for key, value in counts.items()))
    return "\n".join(lines)


def main(
    argv: Sequence[str] | None = None,
    fetch: Fetch | None = None,
    dependents: Sequence[Dependent] | None = None,
) -> int:
    """Parse arguments, audit, print, return the exit status (tests pass ``fetch``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pins", type=Path, help="audit this pyproject.toml's == pins")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per request")
    args = parser.parse_args(argv)
    if fetch is None:
        timeout = args.timeout

        def fetch(url: str) -> dict[str, Any] | None:
            return fetch_json(url, timeout)

    python = Version(".".join(map(str, sys.version_info[:3])))
    if args.pins:
        pins, source = pyproject_pins(args.pins), f"pins of {args.pins}"
    else:
        notes = pin_notes(PYPROJECT) if PYPROJECT.is_file() else {}
        pins, source = installed_pins(notes), f"installed distributions of {sys.prefix}"
    if dependents is None:
        dependents = installed_dependents()
    reports = run_audit(pins, fetch, python=python, dependents=dependents)
    if args.json:
        print(json.dumps(to_json(reports, python, source), indent=1))  # noqa: T201 - a script
    else:
        print(to_text(reports, python, source))  # noqa: T201 - a script
    return exit_status(reports)


if __name__ == "__main__":
    sys.exit(main())
