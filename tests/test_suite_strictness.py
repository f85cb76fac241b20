"""The suite's own strictness (pyproject.toml) catches what it promises to catch.

Each case runs a tiny test module under this project's ``[tool.pytest.ini_options]`` in a
subprocess and expects it to fail: a Qt warning, a Python warning, an unknown marker, an xfail
that passes.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def _run(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    options = tomllib.loads(PYPROJECT.read_text())["tool"]["pytest"]["ini_options"]
    options = {k: v for k, v in options.items() if k not in ("testpaths", "norecursedirs")}
    lines = ["[tool.pytest.ini_options]"]
    for key, value in options.items():
        lines.append(f"{key} = {_toml(value)}")
    pytester.makefile(".toml", pyproject="\n".join(lines) + "\n")
    pytester.makepyfile(test_inner=body)
    return pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        pytest.param(
            "from PySide6.QtCore import qWarning\n"
            "def test_warns(qapp):\n"
            "    qWarning('something is wrong')\n",
            "failed",
            id="a Qt warning fails a test without any mark",
        ),
        pytest.param(
            "from PySide6.QtCore import qWarning\n"
            "def test_warns(qapp):\n"
            "    qWarning('This plugin does not support propagateSizeHints()')\n",
            "passed",
            id="an ignored Qt message does not fail",
        ),
        pytest.param(
            "import warnings\ndef test_warns():\n    warnings.warn('old', DeprecationWarning)\n",
            "failed",
            id="a Python warning fails",
        ),
    ],
)
def test_warnings_fail_a_test_unless_ignored(
    pytester: pytest.Pytester, body: str, outcome: str
) -> None:
    _run(pytester, body).assert_outcomes(**{outcome: 1})


def test_an_unknown_marker_and_a_passing_xfail_fail(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        "import pytest\n"
        "@pytest.mark.xfail(reason='expected to fail')\n"
        "def test_passes():\n    pass\n",
    )
    result.assert_outcomes(failed=1)
    unknown = _run(pytester, "import pytest\n@pytest.mark.nonsense\ndef test_x():\n    pass\n")
    assert unknown.ret != 0
