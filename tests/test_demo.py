import pytest

from skrec.__main__ import main


def test_demo_prints_the_table_offline(capsys):
    assert main(["demo", "--dataset", "synthetic", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "NDCG@10" in out and "Recall@20" in out
    for model in ("Popularity", "EASE", "ALS"):
        assert model in out


def test_demo_help_documents_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--dataset", "--data-home", "--quick"):
        assert option in out


def test_demo_falls_back_to_synthetic_without_data(tmp_path, capsys):
    assert main(["demo", "--quick", "--no-download", "--data-home", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "synthetic" in captured.out and "unavailable" in captured.err
