import subprocess
import sys

import pytest

from skrec.utils._optional import import_optional


def test_import_skrec_is_light():
    code = (
        "import sys, skrec, skrec.metrics, skrec.model_selection, skrec.datasets;"
        "heavy = [m for m in ('torch', 'implicit', 'sentence_transformers', 'modAL', 'skorch')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_optional_dependency_names_feature_and_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(
        ImportError,
        match=r"TransformerRecommender.*pip install \"scikit-recommend\[transformer\]\"",
    ):
        import_optional("torch", "TransformerRecommender")


def test_version():
    import skrec

    assert skrec.__version__.count(".") >= 2
