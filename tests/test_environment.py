"""pyproject.toml and environment.yml describe the same environment: the same packages with the
same version constraints (pip users and conda users get the same course)."""

import re
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:   # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
# conda-only entries that are not Python packages of the project
CONDA_ONLY = {"python", "pip"}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*$")


def split_requirement(text):
    """'numpy>=1.26,<3' -> ('numpy', '<3,>=1.26'); names normalised as pip does (PEP 503)."""
    match = REQUIREMENT.match(text)
    assert match, f"cannot read the requirement {text!r}"
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    spec = ",".join(sorted(part.strip() for part in match.group(3).split(",") if part.strip()))
    return name, spec


def pyproject_requirements():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    lines = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    return dict(split_requirement(line) for line in lines)


def environment_yml_entries(text):
    """The '- item' lines under 'dependencies:' (and its nested '- pip:' list), without a YAML
    library: the file is a flat list of strings, one level of nesting for pip."""
    entries, inside = [], False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line.startswith((" ", "-")):
            inside = line.startswith("dependencies:")
            continue
        item = line.strip()
        if inside and item.startswith("- "):
            item = item[2:].strip()
            if item.endswith(":"):   # "- pip:" opens the nested list
                continue
            entries.append(item)
    return entries


def environment_yml_requirements(path=ROOT / "environment.yml"):
    requirements = {}
    for item in environment_yml_entries(path.read_text()):
        name, spec = split_requirement(item)
        if name in CONDA_ONLY:
            continue
        # conda writes an exact pin with one '=', pip with '=='
        spec = re.sub(r"(?<![=<>!~])=(?!=)", "==", spec)
        assert name not in requirements, f"{name} is listed twice in environment.yml"
        requirements[name] = spec
    return requirements


def test_pyproject_and_environment_yml_list_the_same_packages_and_constraints():
    pip_side, conda_side = pyproject_requirements(), environment_yml_requirements()
    only_pip = sorted(set(pip_side) - set(conda_side))
    only_conda = sorted(set(conda_side) - set(pip_side))
    assert not only_pip, f"in pyproject.toml but not environment.yml: {only_pip}"
    assert not only_conda, f"in environment.yml but not pyproject.toml: {only_conda}"
    different = {name: (pip_side[name], conda_side[name]) for name in pip_side
                 if pip_side[name] != conda_side[name]}
    assert not different, f"constraints differ (pyproject, environment.yml): {different}"


def test_binder_installs_the_runtime_dependencies_with_cpu_only_torch():
    """binder/ gives a student pyproject.toml's runtime dependencies (not the developer tools)
    with the same constraints; torch is conda-forge's CPU-only build, pytorch-cpu."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = dict(split_requirement(line) for line in data["project"]["dependencies"])
    binder = environment_yml_requirements(ROOT / "binder" / "environment.yml")
    assert "torch" not in binder, "binder must name the CPU-only build, pytorch-cpu"
    binder["torch"] = binder.pop("pytorch-cpu", None)
    assert binder == runtime
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    assert "pip install --no-deps -e ." in post_build.read_text()


def test_environment_yml_parser_reads_nested_pip_list_and_skips_comments():
    text = ("name: x\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n"
            "  - numpy>=1.26,<3  # comment\n  - pip:\n      - torch>=2.2,<3\nextra: 1\n")
    assert environment_yml_entries(text) == ["python=3.11", "numpy>=1.26,<3", "torch>=2.2,<3"]


def test_environment_yml_parse_agrees_with_a_real_yaml_parser():
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load((ROOT / "environment.yml").read_text())
    expected = []
    for item in data["dependencies"]:
        expected.extend(item["pip"] if isinstance(item, dict) else [item])
    assert environment_yml_entries((ROOT / "environment.yml").read_text()) == expected


def test_installed_packages_satisfy_the_declared_constraints():
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    wrong = {}
    for name, spec in pyproject_requirements().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong[name] = "not installed"
            continue
        # local build tags such as torch's '+cpu' do not count against the range
        if Version(installed).public not in SpecifierSet(spec):
            wrong[name] = f"{installed} does not satisfy {spec}"
    assert not wrong, f"the environment does not match pyproject.toml: {wrong}"
