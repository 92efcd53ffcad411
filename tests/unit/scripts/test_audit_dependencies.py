"""scripts/audit-dependencies.py on recorded and constructed PyPI JSON; no network."""

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "data" / "pypi"
PY311 = Version("3.11.7")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "audit_dependencies", ROOT / "scripts" / "audit-dependencies.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


audit = _load_script()


class FakePyPI:
    """Answer the URLs mapped to fixture files, 404 for the rest; remember every URL asked."""

    def __init__(self, answers: dict[str, str | None], *, failing: tuple[str, ...] = ()) -> None:
        self.answers = answers
        self.failing = failing
        self.asked: list[str] = []

    def __call__(self, url: str) -> dict[str, Any] | None:
        self.asked.append(url)
        if url in self.failing:
            raise LookupError(f"timed out: {url}")
        name = self.answers.get(url)
        return None if name is None else json.loads((FIXTURES / name).read_text())


def project(name: str) -> str:
    return f"https://pypi.org/pypi/{name}/json"


def release(name: str, version: str) -> str:
    return f"https://pypi.org/pypi/{name}/{version}/json"


def _vulnerability(fixture: str, advisory_id: str) -> dict[str, Any]:
    document = json.loads((FIXTURES / fixture).read_text())
    return next(v for v in document["vulnerabilities"] if v["id"] == advisory_id)


@pytest.mark.parametrize(
    ("pinned", "affects", "why"),
    [
        pytest.param("2.1.0", True, "listed for this exact version", id="latest_case"),
        pytest.param("1.4.2", True, "below fixed_in 1.4.3", id="below_backport_case"),
        pytest.param("1.4.3", False, "fixed in 1.4.3 of its own series", id="backport_case"),
        pytest.param("1.5.0", True, "below fixed_in 2.2.0rc1", id="series_without_fix_case"),
        pytest.param("2.2.0", False, "fixed in 2.2.0rc1 <= 2.2.0", id="after_every_fix_case"),
    ],
)
def test_fixed_in_decides_whether_a_pin_is_affected(pinned: str, affects: bool, why: str) -> None:
    vulnerability = _vulnerability("example-fixed.json", "EXAMPLE-2026-1")

    finding = audit.evaluate(Version(pinned), vulnerability, Version("2.1.0"))

    assert (finding.affects, finding.why) == (affects, why)
    assert finding.fixed_in == ["1.4.3", "2.2.0rc1"]


def test_withdrawn_advisory_affects_nothing() -> None:
    vulnerability = _vulnerability("example-fixed.json", "EXAMPLE-2026-2")

    finding = audit.evaluate(Version("2.1.0"), vulnerability, Version("2.1.0"))

    assert (finding.affects, finding.why) == (False, "withdrawn")


def test_pin_equal_to_latest_with_a_listed_advisory_is_checked_and_affected() -> None:
    fetch = FakePyPI({project("ecdsa"): "ecdsa.json"})

    report = audit.audit_package("ecdsa", "0.19.2", fetch, python=PY311)

    assert (report.status, report.basis, report.latest) == ("checked", "project JSON", "0.19.2")
    assert [f.id for f in report.vulnerabilities] == ["PYSEC-2026-1325", "GHSA-wj6h-64fc-37mp"]
    assert report.affected
    assert fetch.asked == [project("ecdsa")]  # the project JSON already lists 0.19.2's advisories


def test_older_pin_without_release_json_is_unchecked_and_an_unfixed_advisory_counts() -> None:
    fetch = FakePyPI({project("ecdsa"): "ecdsa.json"})

    report = audit.audit_package("ecdsa", "0.19.1", fetch, python=PY311)

    assert (report.status, report.basis) == ("unchecked", "project JSON")
    assert [f.why for f in report.vulnerabilities] == [
        "no fixed version; listed for 0.19.2, assumed older"
    ] * 2
    assert report.affected
    assert report.reasons == ["0.19.2 is allowed by Python and the installed requirements"]
    assert fetch.asked == [project("ecdsa"), release("ecdsa", "0.19.1")]


def test_release_json_when_it_answers_makes_an_older_pin_checked() -> None:
    fetch = FakePyPI(
        {
            project("example-fixed"): "example-fixed.json",
            release("example-fixed", "1.5.0"): "example-fixed-1.5.0.json",
        }
    )

    report = audit.audit_package("example-fixed", "1.5.0", fetch, python=PY311)

    assert (report.status, report.basis) == ("checked", "release JSON")
    assert [(f.id, f.affects) for f in report.vulnerabilities] == [("EXAMPLE-2025-9", True)]


def test_newer_releases_for_another_python_explain_an_older_pin() -> None:
    fetch = FakePyPI({project("numpy"): "numpy.json"})

    report = audit.audit_package("numpy", "2.4.6", fetch, python=PY311)

    assert (report.status, report.latest, report.newest_allowed) == ("unchecked", "2.5.5", "2.4.6")
    assert report.reasons == ["releases after 2.4.6 need Python >=3.12 (this is 3.11.7)"]
    assert report.vulnerabilities == []
    assert not report.affected


def test_an_installed_requirement_explains_an_older_pin() -> None:
    fetch = FakePyPI({project("jsonschema-rs"): "jsonschema-rs.json"})
    schemathesis = audit.Dependent(
        "schemathesis 4.32.5", Requirement("jsonschema-rs<0.61.0,>=0.60.1"), None
    )
    unrelated = audit.Dependent("requests 2.34.2", Requirement("charset_normalizer<4,>=2"), None)

    report = audit.audit_package(
        "jsonschema-rs", "0.60.3", fetch, python=PY311, dependents=[schemathesis, unrelated]
    )

    assert report.reasons == ["schemathesis 4.32.5 requires jsonschema-rs<0.61.0,>=0.60.1"]
    assert report.newest_allowed == "0.60.3"


def test_yanked_pinned_release_is_flagged() -> None:
    fetch = FakePyPI({project("example-fixed"): "example-fixed.json"})

    report = audit.audit_package("example-fixed", "1.4.2", fetch, python=PY311)

    assert report.yanked
    assert report.affected


def test_pyproject_pins_keep_exact_pins_and_their_comments(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[project]\n"
        'name = "x"\n'
        "dependencies = [\n"
        '    "charset-normalizer==3.5.2",\n'
        '    "sqlglot==30.17.0",  # >= 30.18 breaks parts of Ibis 12\n'
        '    "ibis-framework[duckdb]==12.0.0",\n'
        "    \"uvloop==0.23.0; sys_platform != 'win32'\",\n"
        '    "rich>=15",\n'
        "]\n"
        "[project.optional-dependencies]\n"
        'spark = ["pyspark==4.0.5"]\n'
    )

    pins = audit.pyproject_pins(pyproject)

    assert pins == {
        "charset-normalizer": ("3.5.2", None),
        "sqlglot": ("30.17.0", ">= 30.18 breaks parts of Ibis 12"),
        "ibis-framework": ("12.0.0", None),
        "uvloop": ("0.23.0", None),
        "pyspark": ("4.0.5", None),
    }


def _pins_file(tmp_path: Path, *pins: str) -> Path:
    pyproject = tmp_path / "pyproject.toml"
    lines = "".join(f'    "{pin}",\n' for pin in pins)
    pyproject.write_text(f'[project]\nname = "x"\ndependencies = [\n{lines}]\n')
    return pyproject


def test_clean_audit_exits_0_and_says_it_is_not_pip_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = _pins_file(tmp_path, "charset-normalizer==3.5.2", "numpy==2.4.6")
    fetch = FakePyPI(
        {project("charset-normalizer"): "charset-normalizer.json", project("numpy"): "numpy.json"}
    )

    status = audit.main(["--pins", str(pins), "--json"], fetch=fetch, dependents=[])

    output = json.loads(capsys.readouterr().out)
    assert status == 0
    assert output["exit_status"] == 0
    assert output["not_pip_audit"].startswith("This is not pip-audit.")
    assert output["summary"] == {
        "packages": 2,
        "checked": 0,
        "unchecked": 2,
        "not_on_pypi": 0,
        "errors": 0,
        "advisories_listed": 0,
        "affected": 0,
        "yanked": 0,
    }
    assert [p["name"] for p in output["packages"]] == ["charset-normalizer", "numpy"]
    assert {u.split("/")[4] for u in fetch.asked} == {"charset-normalizer", "numpy"}


def test_affected_pin_exits_1_even_when_another_lookup_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = _pins_file(tmp_path, "ecdsa==0.19.2", "numpy==2.4.6")
    fetch = FakePyPI({project("ecdsa"): "ecdsa.json"}, failing=(project("numpy"),))

    status = audit.main(["--pins", str(pins)], fetch=fetch, dependents=[])

    text = capsys.readouterr().out
    assert status == 1
    assert "PYSEC-2026-1325 AFFECTS (listed for this exact version)" in text
    assert "LookupError: timed out: https://pypi.org/pypi/numpy/json" in text
    assert text.splitlines()[-1] == (
        "packages 2, checked 1, unchecked 0, not on pypi 0, errors 1, advisories listed 2, "
        "affected 1, yanked 0"
    )


def test_failed_lookup_without_findings_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = _pins_file(tmp_path, "numpy==2.4.6")
    fetch = FakePyPI({}, failing=(project("numpy"),))

    status = audit.main(["--pins", str(pins), "--json"], fetch=fetch, dependents=[])

    assert status == 2
    assert json.loads(capsys.readouterr().out)["packages"][0]["status"] == "error"


def test_fetch_refuses_anything_but_pypi_json() -> None:
    with pytest.raises(LookupError, match="refusing"):
        audit.fetch_json("https://api.osv.dev/v1/query", timeout=0.01)
