"""The command line (``skrec``, ``python -m skrec``), run as a user runs it: in a subprocess.

Documented failures end with one line on stderr and a non-zero exit status,
never a traceback; the demo reads a local copy first and downloads only when
asked, saying so; a part skipped for a missing extra shows the whole install
hint. A few download checks run in-process, where the network can be replaced.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import skrec
from skrec import _demo
from skrec.__main__ import main
from skrec.datasets import _base, _movielens
from skrec.datasets._base import RemoteFileMetadata
from tests.test_datasets import _describe, _write_100k, _zip_bytes

# Runs before skrec is imported in the child: optional modules can be made
# unimportable (as on a machine without the extra) and any download attempt fails.
_PRELUDE = textwrap.dedent(
    """
    import importlib.abc, importlib.util, runpy, sys, urllib.request

    BLOCKED = set({blocked!r})

    class _Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    _find_spec = importlib.util.find_spec

    def _find_spec_unless_blocked(name, package=None):  # as when it is not installed
        return None if name.split(".")[0] in BLOCKED else _find_spec(name, package)

    importlib.util.find_spec = _find_spec_unless_blocked

    def _no_network(url, *args, **kwargs):
        raise AssertionError(f"the command line tried to download {{url}}")

    sys.meta_path.insert(0, _Blocker())
    urllib.request.urlopen = _no_network
    sys.argv = ["skrec", *{args!r}]
    runpy.run_module("skrec", run_name="__main__", alter_sys=True)
    """
)
#: Without these the demo skips its slow parts (text model, transformer, modAL).
_EXTRAS = ("torch", "skorch", "sentence_transformers", "modAL")


def _skrec(*args: str, blocked=(), cwd=None) -> subprocess.CompletedProcess:
    code = _PRELUDE.format(blocked=sorted(blocked), args=list(args))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd
    )


def _assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("skrec demo: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_version():
    proc = _skrec("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"skrec {skrec.__version__} (scikit-recommend)"


def test_installed_console_script():
    script = Path(sys.executable).with_name("skrec")
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable} (not installed with pip)")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and skrec.__version__ in proc.stdout


def test_help_shows_examples_and_exit_status(capsys):
    proc = _skrec("--help")
    assert proc.returncode == 0, proc.stderr
    assert "examples:" in proc.stdout and "exit status:" in proc.stdout
    assert "skrec demo --dataset movielens --download" in proc.stdout
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--dataset", "--data-home", "--quick", "--download", "--no-download"):
        assert option in out
    assert "examples:" in out


@pytest.mark.parametrize(
    "argv", [[], ["demo", "--dataset", "nope"], ["demo", "--download", "--no-download"]]
)
def test_wrong_command_line_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("skrec")


def test_movielens_without_data_is_a_one_line_error(tmp_path, capsys):
    """`skrec demo --dataset movielens --no-download` without data: no traceback, no download."""
    proc = _skrec("demo", "--dataset", "movielens", "--no-download", "--data-home", str(tmp_path))
    _assert_one_line_error(
        proc, "MovieLens-100K not found in", str(tmp_path / "ml-100k"), "--download"
    )
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []
    # the default is the same: never download unless asked
    assert main(["demo", "--dataset", "movielens", "--data-home", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("skrec demo: error: MovieLens-100K not found")


def test_damaged_movielens_copy_is_a_one_line_error(tmp_path, capsys):
    _write_100k(tmp_path / "ml-100k")  # 4 ratings: not the MovieLens-100K u.data
    assert main(["demo", "--dataset", "movielens", "--data-home", str(tmp_path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skrec demo: error: ")
    assert str(tmp_path / "ml-100k" / "u.data") in lines[0]
    assert "expected 100,000" in lines[0]


def test_demo_offline_falls_back_and_shows_whole_install_hints(tmp_path):
    """No local copy: synthetic data, no download attempt; skipped parts name their extra."""
    proc = _skrec("demo", "--quick", "--data-home", str(tmp_path), blocked=_EXTRAS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "MovieLens-100K not found in" in proc.stderr and "--download" in proc.stderr
    assert "Data: synthetic" in proc.stdout
    for model in ("Popularity", "EASE", "ALS"):
        assert f"\n{model} " in proc.stdout, proc.stdout  # a row of the table
    skipped = [line for line in proc.stdout.splitlines() if "skipped" in line]
    assert len(skipped) >= 3, proc.stdout  # Content, Hybrid, Transformer
    hints = {'pip install "scikit-recommend[text]"', 'pip install "scikit-recommend[transformer]"'}
    for hint in hints:
        assert any(line.rstrip().endswith(hint) for line in skipped), (hint, skipped)
    assert 'pip install "scikit-recommend[active]"' in proc.stdout
    assert "Traceback" not in proc.stderr


def test_damaged_copy_in_auto_mode_says_why(tmp_path):
    _write_100k(tmp_path / "ml-100k")
    proc = _skrec("demo", "--quick", "--data-home", str(tmp_path), blocked=_EXTRAS)
    assert proc.returncode == 0, proc.stderr
    assert f"MovieLens-100K unavailable: {tmp_path / 'ml-100k' / 'u.data'}" in proc.stderr
    assert "Data: synthetic" in proc.stdout


@pytest.mark.slow
def test_demo_prints_the_table():
    proc = _skrec("demo", "--dataset", "synthetic", "--quick")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for heading in ("NDCG@10", "Recall@20", "Best NDCG@10", "Active learning"):
        assert heading in proc.stdout
    for model in ("Popularity", "EASE", "ALS", "Content", "Hybrid", "Transformer"):
        assert f"\n{model} " in proc.stdout


# --------------------------------------------------------------------------- #
# Downloads, with the network replaced (in-process)
# --------------------------------------------------------------------------- #


def _serve_small_archive(tmp_path, monkeypatch) -> str:
    """ml-100k.zip served from a file:// URL; its small files trusted by the loader."""
    payload = _zip_bytes(tmp_path, "100k")
    archive = tmp_path / "served.zip"
    archive.write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    monkeypatch.setitem(
        _movielens.ARCHIVES, "100k", RemoteFileMetadata("ml-100k.zip", archive.as_uri(), sha)
    )
    monkeypatch.setitem(_movielens.FILES, "100k", _describe(tmp_path / "src" / "ml-100k"))
    return archive.as_uri()


def test_demo_reads_local_copy_first(tmp_path, monkeypatch):
    _serve_small_archive(tmp_path, monkeypatch)
    home = tmp_path / "home"
    _write_100k(home / "ml-100k")

    def no_network(url, timeout=None):
        raise AssertionError(f"downloaded {url} although a local copy exists")

    monkeypatch.setattr(_base, "urlopen", no_network)
    assert len(_demo._movielens(home, download=True).X) == 4


def test_demo_download_says_so_with_a_progress_bar(tmp_path, monkeypatch, capsys):
    url = _serve_small_archive(tmp_path, monkeypatch)
    home = tmp_path / "home"
    with pytest.raises(FileNotFoundError):
        _demo._movielens(home, download=False)  # never without being asked
    assert not home.exists()
    data = _demo._movielens(home, download=True)
    assert len(data.X) == 4
    err = capsys.readouterr().err
    assert f"Downloading MovieLens-100K (5 MB) from {url} into {home}" in err
    assert "ml-100k.zip" in err and "100%" in err  # tqdm's bar


def test_failed_download_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    def offline(url, timeout=None):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(_base, "urlopen", offline)
    argv = ["demo", "--dataset", "movielens", "--download", "--data-home", str(tmp_path)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("skrec demo: error:")]
    assert len(lines) == 1 and "Network is unreachable" in lines[0]
    assert "ml-100k.zip" in lines[0]
