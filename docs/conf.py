"""Sphinx configuration of the skrec documentation.

Build (warnings are errors), from the repository root::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

``SKREC_DOCS_QUICK=1`` makes the gallery examples use small synthetic data and
few epochs (CI); ``-D plot_gallery=0`` skips running them altogether. The
benchmarks page shows the results found in ``benchmarks/results/`` at build
time (``SKREC_DOCS_BENCHMARKS=<folder>`` reads another folder).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document the checkout being built, even when another copy is installed.
sys.path.insert(0, str(ROOT))

import skrec  # noqa: E402

QUICK = os.environ.get("SKREC_DOCS_QUICK", "").strip().lower() not in ("", "0", "false", "no")

# -- Project -----------------------------------------------------------------

project = "scikit-recommend"
author = "the skrec developers"
copyright = "the skrec developers"  # noqa: A001
release = skrec.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    # sphinx-gallery writes these next to the examples; they are not pages.
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
]
default_role = "literal"
pygments_style = "sphinx"
pygments_dark_style = "monokai"

# -- autodoc / autosummary / numpydoc ------------------------------------------

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options: dict = {}
autodoc_typehints = "none"  # the numpydoc Parameters sections say it better
autoclass_content = "class"
add_module_names = False
toc_object_entries_show_parents = "hide"  # "fit()", not "ALSRecommender.fit()", in page tocs

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- MyST (the Markdown pages under docs/) -------------------------------------

myst_enable_extensions = ["colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3

# -- sphinx-gallery ------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "min_reported_time": 1,
    "doc_module": ("skrec",),
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
    # An example that raises fails the build.
    "only_warn_on_example_error": False,
    "abort_on_example_error": False,
}
# The examples read this to pick small data and few epochs.
os.environ["SKREC_DOCS_QUICK"] = "1" if QUICK else "0"
# sphinx-gallery reruns only examples whose source changed: forget the outputs
# of the other mode, so a full build never shows quick-mode results (or back).
_GALLERY = DOCS / "auto_examples"
_MODE_FILE = _GALLERY / ".skrec-docs-mode"
_MODE = "quick" if QUICK else "full"
if _GALLERY.is_dir() and (not _MODE_FILE.is_file() or _MODE_FILE.read_text().strip() != _MODE):
    shutil.rmtree(_GALLERY)
_GALLERY.mkdir(exist_ok=True)
_MODE_FILE.write_text(_MODE + "\n")
# Idle OpenMP threads of torch and implicit sleep instead of spinning: on a
# machine shared with other jobs, spinning threads slow training several-fold.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# -- HTML ----------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skrec {release}"
html_static_path = ["_static"]
html_css_files = ["skrec.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# Pages with wide code and tables get the whole width: no section navigation.
html_sidebars = {
    "index": [],
    "user_guide/benchmarks": [],
    "auto_examples/*": [],
    "generated/*": [],
}
html_context = {"default_mode": "light"}

# -- Pages that exist only when other work has landed --------------------------

# Topic guides written next to this file. Each is listed in the user guide when
# it exists, so the site builds whichever of them have been written.
TOPIC_GUIDES = [
    ("data", "The data contract"),
    ("content", "Content-based and hybrid recommendations"),
    ("transformer", "The transformer recommender"),
    ("active", "Active learning with modAL"),
    ("plugins", "Writing a plugin"),
    ("scaling", "Scaling out"),
    ("decisions", "Design decisions"),
    ("contributing", "Writing documentation: how code blocks are tested"),
]


def topic_exists(name: str) -> bool:
    return (DOCS / f"{name}.md").is_file() or (DOCS / f"{name}.rst").is_file()


def _topic_toctree() -> str:
    entries = "\n".join(f"../{name}" for name, _ in TOPIC_GUIDES if topic_exists(name))
    return f"```{{toctree}}\n:maxdepth: 1\n:caption: Topic guides\n\n{entries}\n```\n"


def _docstring_commands(path: Path) -> tuple[str, list[str]]:
    """First paragraph of a benchmark script's docstring and its ``python ...`` lines."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    summary = doc.strip().split("\n\n")[0].replace("\n", " ")
    commands = [
        re.split(r"\s+#", line.strip())[0].strip()
        for line in doc.splitlines()
        if line.startswith("    python ")
    ]
    return summary, commands


def _result_section(json_path: Path, page_dir: Path) -> str:
    """Markdown for one results file: provenance, its table, its figures."""
    name = json_path.stem
    md_path = json_path.with_suffix(".md")
    try:
        meta = json.loads(json_path.read_text())
    except (OSError, ValueError):
        meta = {}
    out = [f"### Results: `{name}`\n"]
    facts = []
    if meta.get("date"):
        facts.append(f"run {meta['date']}")
    if meta.get("quick"):
        facts.append("**quick smoke run** (reduced size: not a measurement)")
    machine = meta.get("machine") or {}
    if machine:
        facts.append(
            ", ".join(f"{k}: {v}" for k, v in machine.items() if k in ("processor", "cpus", "gpu"))
        )
    if facts:
        out.append("; ".join(facts) + ".\n")
    command = meta.get("command")
    if command:
        words = command.split()
        where = " (run in `benchmarks/`)" if len(words) > 1 and "/" not in words[1] else ""
        out.append(f"\nProduced by `{command}`{where}.\n")
    if md_path.is_file():
        body = md_path.read_text().splitlines()
        # Drop the file's own title and provenance lines: said above.
        body = [
            line
            for line in body
            if not line.startswith(("# ", "Command:", "Machine:", "Versions:"))
        ]
        # Headings inside the results file sit below this section's heading.
        body = [("###" + line) if line.startswith("#") else line for line in body]
        out.append("\n````{container} skrec-results\n" + "\n".join(body).strip() + "\n````\n")
    results = json_path.parent
    for png in sorted(results.glob(f"{name}*.png")):
        rel = os.path.relpath(png, page_dir)
        out.append(f"\n```{{image}} {rel}\n:alt: {png.stem}\n:width: 90%\n```\n")
    return "\n".join(out)


def _benchmarks_section() -> str:
    bench = ROOT / "benchmarks"
    # SKREC_DOCS_BENCHMARKS: show results kept elsewhere (default benchmarks/results).
    results = Path(os.environ.get("SKREC_DOCS_BENCHMARKS") or bench / "results").resolve()
    page_dir = DOCS / "user_guide"
    out = []
    scripts = sorted(bench.glob("bench_*.py"))
    shown = set()
    for script in scripts:
        key = script.stem.removeprefix("bench_")
        summary, commands = _docstring_commands(script)
        out.append(f"## `{script.name}`\n\n{summary}\n")
        if commands:
            out.append("```bash\n" + "\n".join(commands) + "\n```\n")
        found = sorted(results.glob(f"{key}*.json")) if results.is_dir() else []
        if not found:
            out.append(
                "*No results in `benchmarks/results/` for this script in this build: "
                "run one of the commands above, then rebuild the documentation.*\n"
            )
        for json_path in found:
            shown.add(json_path)
            out.append(_result_section(json_path, page_dir))
    others = (
        [p for p in sorted(results.glob("*.json")) if p not in shown] if results.is_dir() else []
    )
    if others:
        out.append("## Other results\n")
        out.extend(_result_section(p, page_dir) for p in others)
    if not scripts:
        out.append("*No benchmark scripts found.*\n")
    return "\n".join(out)


def _inject(app, docname, source):
    if "@SKREC_TOPIC_GUIDES@" in source[0]:
        source[0] = source[0].replace("@SKREC_TOPIC_GUIDES@", _topic_toctree())
    if "@SKREC_BENCHMARKS@" in source[0]:
        source[0] = source[0].replace("@SKREC_BENCHMARKS@", _benchmarks_section())


def _topic_link(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``:topic:`name``` links a topic guide, or names it in plain text until it exists."""
    from docutils import nodes
    from sphinx.addnodes import pending_xref

    target, _, label = text.partition("|")
    label = label or dict(TOPIC_GUIDES).get(target, target)
    if topic_exists(target):
        ref = pending_xref(
            rawtext, reftype="doc", refdomain="std", reftarget=f"/{target}", refexplicit=True
        )
        ref += nodes.inline(label, label)
        return [ref], []
    return [nodes.emphasis(label, label)], []


# scikit-learn's metadata-routing methods are generated for every estimator and
# say nothing about skrec; their docstrings also point into sklearn's own docs.
_SKIPPED_MEMBERS = re.compile(r"^(get_metadata_routing|set_\w+_request)$")


def _skip_member(app, what, name, obj, skip, options):
    if _SKIPPED_MEMBERS.match(name):
        return True
    return None


def _import_target(target: str):
    """The object a dotted name stands for, or None."""
    import importlib

    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _resolve_reexport(app, env, node, contnode):
    """Resolve ``skrec.ALSRecommender`` to where it is documented (``skrec.recommenders``).

    Public names are re-exported in several places (the top-level package,
    private modules in docstrings); the API reference documents each once.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("skrec") and node.get("py:module"):
        target = f"{node['py:module']}.{target}"  # a short name in a module's docstring
    if not target.startswith("skrec"):
        return None
    obj = _import_target(target)
    if obj is None:
        return None
    domain = env.get_domain("py")
    cache = env.app.__dict__.setdefault("_skrec_documented", {})
    if not cache:
        for name in domain.objects:
            found = _import_target(name) if name.startswith("skrec") else None
            if found is not None:
                cache.setdefault(id(found), name)
    name = cache.get(id(obj))
    if name is None or name == node["reftarget"]:
        return None
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], name, node, contnode
    )


def _unlink_metric_names(app, doctree):
    """Undo docutils' e-mail links on metric names such as ``NDCG@10``.

    reStructuredText turns any ``word@word`` into a ``mailto:`` link; metric
    names at a cut-off are never addresses (an address has a dot in its domain).
    """
    from docutils import nodes

    for ref in list(doctree.findall(nodes.reference)):
        text = ref.astext()
        if ref.get("refuri", "").startswith("mailto:") and "." not in text.rpartition("@")[2]:
            ref.replace_self(nodes.Text(text))


def setup(app):
    app.connect("doctree-read", _unlink_metric_names)
    app.connect("missing-reference", _resolve_reexport)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("source-read", _inject)
    app.add_role("topic", _topic_link)
    # Benchmark results are read at build time: rebuild the page whenever they change.
    app.connect(
        "env-get-outdated", lambda app, env, added, changed, removed: ["user_guide/benchmarks"]
    )
    return {"parallel_read_safe": True}
