"""MultVAERecommender: numpy scores equal the torch module; seeds; learning; no torch to score."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from skrec import MultVAERecommender, PopularityRecommender
from skrec.datasets import make_interactions
from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold

SMALL = dict(latent_dim=6, hidden_dim=12, max_epochs=5, batch_size=32, device="cpu")


@pytest.fixture(scope="module")
def data():
    return make_interactions(n_users=150, n_items=40, n_interactions=2000, random_state=0)


def test_numpy_scores_equal_the_torch_module(data):
    from skrec.recommenders._multvae_training import MultVAE

    rec = MultVAERecommender(**SMALL, random_state=0).fit(data.X)
    w = rec.weights_
    module = MultVAE(len(rec.items_), SMALL["hidden_dim"], SMALL["latent_dim"], 0.5).double()
    with torch.no_grad():
        module.encoder.weight.copy_(torch.from_numpy(w["enc_w"].T))
        module.encoder.bias.copy_(torch.from_numpy(w["enc_b"]))
        module.to_latent.weight[: SMALL["latent_dim"]].copy_(torch.from_numpy(w["mu_w"].T))
        module.to_latent.bias[: SMALL["latent_dim"]].copy_(torch.from_numpy(w["mu_b"]))
        module.decoder.weight.copy_(torch.from_numpy(w["dec_w"].T))
        module.decoder.bias.copy_(torch.from_numpy(w["dec_b"]))
        module.output.weight.copy_(torch.from_numpy(w["out_w"].T))
        module.output.bias.copy_(torch.from_numpy(w["out_b"]))
        module.eval()
        x = torch.from_numpy(rec.interactions_.maximum(0).toarray()).double()
        expected = F.log_softmax(module(x)[0], dim=1).numpy()
    users = np.arange(len(rec.users_))
    np.testing.assert_allclose(rec._score_users(users), expected, rtol=1e-9, atol=1e-9)
    # score_samples is that log-probability; recommend ranks by it.
    pairs = data.X.iloc[:20]
    u = rec._user_index.get_indexer(pairs["user"])
    i = rec._item_index.get_indexer(pairs["item"])
    np.testing.assert_allclose(rec.score_samples(pairs), expected[u, i], rtol=1e-9)


def test_same_seed_same_model_and_global_rng_untouched(data):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = MultVAERecommender(**SMALL, random_state=3).fit(data.X)
    after = torch.rand(1)
    assert torch.equal(before, after)
    b = MultVAERecommender(**SMALL, random_state=3).fit(data.X)
    np.testing.assert_array_equal(a.weights_["out_w"], b.weights_["out_w"])
    c = MultVAERecommender(**SMALL, random_state=4).fit(data.X)
    assert not np.array_equal(a.weights_["out_w"], c.weights_["out_w"])


def test_learns_to_beat_popularity_and_the_loss_falls(data):
    train, test = next(PerUserKFold(n_splits=5, random_state=0).split(data.X))
    X_train, X_test = data.X.iloc[train], data.X.iloc[test]
    scorer = make_ranking_scorer("ndcg", k=10)
    rec = MultVAERecommender(
        latent_dim=16, hidden_dim=64, max_epochs=60, batch_size=32, device="cpu", random_state=0
    ).fit(X_train)
    assert rec.loss_curve_[-1] < rec.loss_curve_[0]
    pop = PopularityRecommender().fit(X_train)
    assert scorer(rec, X_test) > scorer(pop, X_test) + 0.02


def test_a_fitted_model_scores_without_torch(data, tmp_path):
    rec = MultVAERecommender(**SMALL, random_state=0).fit(data.X)
    path = tmp_path / "vae.pkl"
    path.write_bytes(pickle.dumps(rec))
    expected = rec.recommend(rec.users_[:3], n=4)[0]
    code = (
        "import pickle, sys; rec = pickle.load(open(sys.argv[1], 'rb')); "
        "ids, _ = rec.recommend(rec.users_[:3], n=4); "
        "assert 'torch' not in sys.modules, 'scoring imported torch'; print(ids.tolist())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(expected.tolist())


def test_verbose_prints_each_epoch(data, capsys):
    MultVAERecommender(**{**SMALL, "max_epochs": 2}, verbose=True).fit(data.X)
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out


def test_cuda_requested_without_cuda_is_a_clear_error(data):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="cannot use CUDA"):
        MultVAERecommender(**{**SMALL, "device": "cuda"}).fit(data.X)


@pytest.mark.parametrize(
    "param, value", [("latent_dim", 0), ("dropout", 1.0), ("beta", -1.0), ("device", "tpu")]
)
def test_bad_parameters_are_rejected(data, param, value):
    with pytest.raises(ValueError, match=param if param != "device" else "device"):
        MultVAERecommender(**{**SMALL, param: value}).fit(data.X)
