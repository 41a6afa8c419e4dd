"""TransformerRecommender: order learning, causal masking, skorch training, sklearn contract.

Every model here is tiny (16-32 dims, one or two layers, at most a few hundred
short sequences) so that each test runs in a few seconds on one CPU thread.
"""

import copy
import gc
import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from skrec import PopularityRecommender, TransformerRecommender  # noqa: E402
from skrec.metrics import make_ranking_scorer  # noqa: E402
from skrec.model_selection import LeaveLastOut  # noqa: E402
from skrec.recommenders._sasrec import SASRecModule, trim_padding  # noqa: E402
from skrec.recommenders._transformer_training import ViewMaker  # noqa: E402

TINY = dict(embedding_dim=16, n_layers=1, n_heads=2, batch_size=32, random_state=0)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def cycles(n_users=150, n_items=20, seed=0, lengths=(5, 9)):
    """Each user walks a cycle of items: item k+1 always follows item k.

    Every item is equally popular and co-occurs with its neighbours on both
    sides, so only the order says which item comes next.
    """
    rng = np.random.default_rng(seed)
    rows, last = [], {}
    for u in range(n_users):
        start, length = rng.integers(n_items), rng.integers(*lengths)
        for t in range(length):
            rows.append((f"u{u}", f"i{(start + t) % n_items}", t))
        last[f"u{u}"] = (start + length - 1) % n_items
    return np.array(rows, dtype=object), last


class StandInView:
    """A stand-in sequence augmenter: ``view(seq, rng, mask_value)`` masks one item."""

    def __init__(self):
        self.calls = 0

    def view(self, seq, rng, mask_value):
        self.calls += 1
        out = seq.copy()
        out[rng.integers(len(out))] = mask_value
        return out


class Record(Callback):
    """Keeps the module weights at the start and after every epoch of training."""

    def initialize(self):
        self.begin_, self.epochs_ = None, []
        return self

    def on_train_begin(self, net, **kwargs):
        self.begin_ = copy.deepcopy(net.module_.state_dict())

    def on_epoch_end(self, net, **kwargs):
        self.epochs_.append(copy.deepcopy(net.module_.state_dict()))


def fitted_callback(est, name):
    return dict(est.net_.callbacks_)[name]


def states_equal(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------ the model
@pytest.mark.slow  # trains for several epochs: not in the quick subset
@pytest.mark.parametrize("loss", ["softmax", "bce"])
def test_learns_an_order_only_pattern(loss):
    X, last = cycles()
    users = np.array(sorted(last))
    expected = np.array([f"i{(last[u] + 1) % 20}" for u in users])
    est = TransformerRecommender(
        **{**TINY, "embedding_dim": 32}, max_epochs=15, lr=5e-3, dropout=0.1, loss=loss
    )
    est.set_params(patience=None).fit(X)
    ids, _ = est.recommend(users, n=1)
    assert (ids[:, 0] == expected).mean() > 0.9
    # Popularity cannot tell which neighbour comes next.
    popular, _ = PopularityRecommender().fit(X).recommend(users, n=1)
    assert (popular[:, 0] == expected).mean() < 0.3


def test_causal_mask_hides_the_future():
    torch.manual_seed(0)
    module = SASRecModule(n_items=30, embedding_dim=16, n_layers=2, max_len=8).eval()
    seq = torch.tensor([[0, 0, 3, 5, 7, 9, 11, 13], [1, 2, 3, 4, 5, 6, 7, 8]])
    changed = seq.clone()
    changed[:, -1] = 29
    changed[1, 5] = 17
    with torch.no_grad():
        before, after = module(seq), module(changed)
        assert torch.allclose(before[0, :-1], after[0, :-1], atol=1e-6)
        assert torch.allclose(before[1, :5], after[1, :5], atol=1e-6)
        assert not torch.allclose(before[0, -1], after[0, -1])
        # Bidirectional attention (masked item prediction) does see later items.
        assert not torch.allclose(
            module(seq, causal=False)[0, :-1], module(changed, causal=False)[0, :-1]
        )


def test_padding_is_invisible():
    torch.manual_seed(0)
    module = SASRecModule(n_items=30, embedding_dim=16, max_len=10).eval()
    seq = torch.tensor([[0, 0, 0, 0, 0, 0, 4, 5, 6, 7], [0, 0, 0, 0, 0, 9, 8, 7, 6, 5]])
    with torch.no_grad():
        full = module(seq)
        trimmed = module(trim_padding(seq))
        assert torch.allclose(full[:, -5:], trimmed, atol=1e-6)
        assert torch.all(full[0, :6] == 0)
        assert torch.isfinite(module(torch.zeros(2, 10, dtype=torch.long))).all()


# -------------------------------------------------------------- pretraining
def test_mlm_pretraining_changes_weights_before_fine_tuning(X_clustered):
    params = dict(TINY, max_epochs=1, pretrain_epochs=5, lr=0.01, callbacks=[("record", Record())])
    plain = TransformerRecommender(**params).fit(X_clustered)
    mlm = TransformerRecommender(**params, pretrain="mlm").fit(X_clustered)
    initial = fitted_callback(plain, "record").begin_
    pretrained = fitted_callback(mlm, "record").begin_
    # Same seed, same initial weights; masked item prediction moved them.
    assert not states_equal(initial, pretrained)
    assert not torch.equal(initial["item_embedding.weight"], pretrained["item_embedding.weight"])
    assert plain.pretrain_history_ is None
    assert len(mlm.pretrain_history_) == 5
    # Ten batches in all barely move the loss from a uniform guess over the
    # items; its level checks the masked positions' normaliser (the expected
    # number of masked items per row, not the count of a given batch).
    n_items = len(np.unique(X_clustered[:, 1]))
    losses = mlm.pretrain_history_[:, "train_loss"]
    assert np.mean(losses) == pytest.approx(np.log(n_items), rel=0.1)


def test_contrastive_views_come_from_the_augmenters(X_clustered):
    view = StandInView()
    params = dict(TINY, max_epochs=2)
    plain = TransformerRecommender(**params).fit(X_clustered)
    est = TransformerRecommender(
        **params, pretrain="contrastive", contrastive_augmenters=[view], contrastive_weight=0.5
    ).fit(X_clustered)
    # Two views of every training sequence (all 60 users) in each of 2 epochs.
    assert view.calls == 2 * 60 * 2
    users = plain.users_[:10]
    assert not np.allclose(plain.recommend(users, n=5)[1], est.recommend(users, n=5)[1])


def test_contrastive_default_views_use_the_registry(X_clustered):
    est = TransformerRecommender(**TINY, max_epochs=1, pretrain="contrastive")
    try:
        import skrec.augmenters  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"view\(seq, rng, mask_value\)"):
            est.fit(X_clustered)
    else:
        assert est.fit(X_clustered).recommend(est.users_[:2], n=3)[0].shape == (2, 3)
        # augmenter= adds training sequences; their pseudo-users stay out of users_.
        crop = TransformerRecommender(**TINY, max_epochs=1, augmenter="crop").fit(X_clustered)
        assert len(crop.users_) == len(np.unique(X_clustered[:, 0]))


def test_view_maker_checks_what_augmenters_return():
    rng = np.random.default_rng(0)
    maker = ViewMaker([StandInView()], rng, n_items=9, max_len=4)
    view = maker(np.array([1, 2, 3, 4, 5], dtype=np.int64))
    assert view.shape == (4,) and (view == 10).sum() <= 1

    class Broken:
        def view(self, seq, rng, mask_value):
            return seq + 100

    with pytest.raises(ValueError, match=r"Broken.view returned item indices outside 1..9"):
        ViewMaker([Broken()], rng, n_items=9, max_len=4)(np.array([1, 2], dtype=np.int64))


def test_contrastive_augmenters_must_have_view(X_clustered):
    est = TransformerRecommender(**TINY, max_epochs=1, pretrain="contrastive")
    with pytest.raises(TypeError, match="view"):
        est.set_params(contrastive_augmenters=[object()]).fit(X_clustered)
    with pytest.raises(ValueError, match="empty"):
        est.set_params(contrastive_augmenters=[]).fit(X_clustered)


# ------------------------------------------------------------------ training
def test_validation_early_stopping_and_best_weights(X_clustered):
    est = TransformerRecommender(
        **TINY, max_epochs=8, patience=2, lr=0.05, callbacks=[("record", Record())]
    ).fit(X_clustered)
    history = est.net_.history
    ndcg = history[:, "valid_ndcg"]
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in ndcg)
    assert est.best_epoch_ == int(np.argmax(ndcg)) + 1
    best = fitted_callback(est, "record").epochs_[est.best_epoch_ - 1]
    assert states_equal(est.module_.state_dict(), best)
    assert all("event_lr" in row for row in history)
    assert est.best_epoch_ < len(history)  # the restore path is exercised


def test_validation_ranks_a_sample_of_many_users(X_clustered, monkeypatch):
    import skrec.recommenders._transformer as module

    class ValidationSize(Callback):
        def on_train_begin(self, net, **kwargs):
            self.size_ = len(dict(net.callbacks_)["valid_ndcg"].inputs)

    monkeypatch.setattr(module, "_MAX_VALIDATION_USERS", 7)
    est = TransformerRecommender(**TINY, max_epochs=1, callbacks=[("size", ValidationSize())])
    assert fitted_callback(est.fit(X_clustered), "size").size_ == 7


def test_early_stopping_stops_when_validation_is_flat(X_clustered):
    est = TransformerRecommender(**TINY, max_epochs=20, patience=2, lr=1e-9, dropout=0.0)
    est.fit(X_clustered)
    assert len(est.net_.history) == 3
    assert est.best_epoch_ == 1


@pytest.mark.slow  # trains for several epochs: not in the quick subset
def test_history_holds_plain_numbers_and_tensors_do_not_pile_up(X_clustered):
    class CountTensors(Callback):
        def initialize(self):
            self.counts_ = []
            return self

        def on_epoch_end(self, net, **kwargs):
            if len(net.history) % 2:
                return  # a scan takes a while; epochs 2, 4, 6 suffice
            gc.collect()
            self.counts_.append(sum(issubclass(type(o), torch.Tensor) for o in gc.get_objects()))

    est = TransformerRecommender(
        **TINY, max_epochs=6, patience=None, callbacks=[("count", CountTensors())]
    ).fit(X_clustered)
    counts = fitted_callback(est, "count").counts_
    assert len(counts) == 3 and max(counts) - min(counts) <= 2, counts
    for row in est.net_.history:
        for key, value in row.items():
            if key != "batches":
                assert isinstance(value, int | float | bool), (key, type(value))
        for batch in row["batches"]:
            assert all(isinstance(v, int | float) for v in batch.values())


def test_verbose_prints_the_epoch_table(X_clustered, capsys):
    TransformerRecommender(**TINY, max_epochs=2).fit(X_clustered)
    assert capsys.readouterr().out == ""
    TransformerRecommender(**TINY, max_epochs=2, verbose=True).fit(X_clustered)
    out = capsys.readouterr().out
    assert "train_loss" in out and "valid_ndcg" in out and "dur" in out


@pytest.mark.parametrize("sampler", ["uniform", "popularity"])
def test_sampled_negatives(X_clustered, sampler):
    est = TransformerRecommender(
        **TINY, max_epochs=2, loss="bce", n_negatives=3, negative_sampler=sampler
    ).fit(X_clustered)
    assert np.isfinite(est.net_.history[:, "train_loss"]).all()


# ----------------------------------------------------------------- scoring
def test_scores_are_states_times_item_table(X_clustered):
    est = TransformerRecommender(**TINY, max_epochs=2).fit(X_clustered)
    assert est.user_states_.shape == (len(est.users_), 16)
    np.testing.assert_allclose(
        est.embed_items(est.items_),
        est.module_.item_table().detach().numpy(),
    )
    ids, scores = est.recommend(est.users_[:4], n=5)
    rows = np.column_stack([np.repeat(est.users_[:4], 5), ids.ravel()])
    np.testing.assert_allclose(est.decision_function(rows), scores.ravel(), rtol=1e-5)
    proba = est.predict_proba(rows)
    assert proba.shape == (20, 2) and np.allclose(proba.sum(1), 1)


@pytest.mark.slow  # trains for several epochs: not in the quick subset
def test_scoring_follows_the_full_history():
    X, last = cycles(n_users=60)
    est = TransformerRecommender(**TINY, max_epochs=15, lr=5e-3, dropout=0.1, patience=None)
    est.fit(X)
    # One more step along the cycle moves the prediction one step too.
    extra = np.array([[u, f"i{(last[u] + 1) % 20}", 99] for u in sorted(last)], dtype=object)
    longer = TransformerRecommender(**TINY, max_epochs=15, lr=5e-3, dropout=0.1, patience=None)
    longer.fit(np.concatenate([X, extra]))
    ids, _ = longer.recommend(sorted(last), n=1)
    expected = [f"i{(last[u] + 2) % 20}" for u in sorted(last)]
    assert (ids[:, 0] == expected).mean() > 0.8


def test_unknown_users_and_negative_only_users(X_clustered):
    X = np.concatenate([X_clustered, [["neg", "i0", 0], ["neg", "i1", 1]]])
    y = np.r_[np.ones(len(X_clustered)), 0.0, 0.0]
    est = TransformerRecommender(**TINY, max_epochs=1).fit(X, y)
    assert np.isfinite(est.user_states_).all()
    ids, _ = est.recommend(["neg", "nobody"], n=3)
    assert ids.shape == (2, 3)
    with pytest.raises(ValueError, match="not seen in fit"):
        est.set_params(handle_unknown="error").recommend(["nobody"])


def test_no_sequence_to_learn_from_warns():
    X = [["a", "x"], ["b", "y"], ["c", "x"]]
    with pytest.warns(UserWarning, match="no next item"):
        est = TransformerRecommender(**TINY, max_epochs=1).fit(X)
    assert est.recommend(["a"], n=1)[0].shape == (1, 1)


# ---------------------------------------------------------- sklearn contract
def test_clone_and_get_params():
    est = TransformerRecommender(embedding_dim=8, pretrain="mlm", callbacks=[Record()])
    params = est.get_params()
    assert params["embedding_dim"] == 8 and params["loss"] == "sampled_softmax"
    assert params["contrastive_augmenters"] == ("crop", "mask", "reorder")
    twin = clone(est)
    assert twin.get_params()["pretrain"] == "mlm" and twin is not est


def test_grid_search_over_size_and_pretraining(X_clustered):
    search = GridSearchCV(
        TransformerRecommender(**TINY, max_epochs=2, pretrain_epochs=1),
        {"embedding_dim": [8, 16], "pretrain": [None, "mlm"]},
        cv=LeaveLastOut(),
        scoring=make_ranking_scorer(),
    ).fit(X_clustered)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_invalid_parameters(X_clustered):
    with pytest.raises(ValueError, match="divisible by n_heads"):
        TransformerRecommender(embedding_dim=10, n_heads=4).fit(X_clustered)
    with pytest.raises(ValueError, match="loss"):
        TransformerRecommender(loss="hinge").fit(X_clustered)
    with pytest.raises(ValueError, match="device"):
        TransformerRecommender(**TINY, device="tpu").fit(X_clustered)


def test_device_selection(X_clustered):
    est = TransformerRecommender(**TINY, max_epochs=1).fit(X_clustered)
    assert est.net_.device == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cannot use CUDA"):
            TransformerRecommender(**TINY, device="cuda").fit(X_clustered)


def test_same_seed_same_recommendations(X_clustered):
    params = dict(TINY, max_epochs=3, pretrain="contrastive")
    make = lambda seed: TransformerRecommender(  # noqa: E731
        **{**params, "random_state": seed}, contrastive_augmenters=[StandInView()]
    ).fit(X_clustered)
    users = np.unique(X_clustered[:, 0])
    first, again, other = make(7), make(7), make(8)
    ids, scores = first.recommend(users, n=10)
    np.testing.assert_array_equal(again.recommend(users, n=10)[0], ids)
    np.testing.assert_array_equal(again.recommend(users, n=10)[1], scores)
    assert not np.array_equal(other.recommend(users, n=10)[1], scores)
    # The global torch RNG is left as it was.
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    make(7)
    assert torch.equal(torch.rand(1), expected)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_round_trip(X_clustered, dump):
    est = TransformerRecommender(**TINY, max_epochs=2).fit(X_clustered)
    if dump == "pickle":
        again = pickle.loads(pickle.dumps(est))
    else:
        buffer = io.BytesIO()
        joblib.dump(est, buffer)
        buffer.seek(0)
        again = joblib.load(buffer)
    users = np.unique(X_clustered[:, 0])
    for a, b in zip(est.recommend(users, n=10), again.recommend(users, n=10)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        est.decision_function(X_clustered), again.decision_function(X_clustered)
    )
    assert states_equal(est.module_.state_dict(), again.net_.module_.state_dict())
    # Neither the validation data nor a second copy of the weights is pickled: the
    # weights travel inside net_ only, through skorch's CUDA-safe serialisation.
    without_net = {k: v for k, v in vars(est).items() if k != "net_"}
    net_bytes = len(pickle.dumps(est.net_))
    assert len(pickle.dumps(est)) - len(pickle.dumps(without_net)) < 1.05 * net_bytes
    weights = sum(p.numel() * p.element_size() for p in est.module_.parameters())
    # The validation data stays with its callback, so that net_.partial_fit works.
    valid = fitted_callback(est, "valid_ndcg")
    kept = valid.inputs.nbytes + valid.targets.nbytes + valid.seen.data.nbytes * 3
    assert net_bytes < 3 * weights + kept + 50_000  # the weights and AdamW's moments, once
    assert fitted_callback(again, "early_stopping").best_model_weights_ is None


def test_the_fitted_net_can_train_further(X_clustered):
    """partial_fit needs the callbacks' state (the validation data) after fit."""
    from skrec.recommenders._transformer_training import SequenceDataset, pad_left

    est = TransformerRecommender(**TINY, max_epochs=2).fit(X_clustered)
    seqs = [np.arange(1, 6), np.arange(3, 9)]
    data = SequenceDataset(
        pad_left([s[:-1] for s in seqs], 50), pad_left([s[1:] for s in seqs], 50)
    )
    epochs = len(est.net_.history)
    est.net_.partial_fit(data)
    assert len(est.net_.history) > epochs
    assert np.isfinite(est.net_.history[-1, "valid_ndcg"])


class RecordingCrop:
    """The ``crop`` augmenter, keeping what ``fit_resample`` was given in ``seen``.

    ``seen`` is shared by copies: the estimator augments with a clone.
    """

    def __init__(self, seen):
        from skrec.augmenters import CropAugmenter

        self.inner = CropAugmenter(eta=0.5, random_state=0)
        self.seen = seen

    def __deepcopy__(self, memo):
        return RecordingCrop(self.seen)

    def fit_resample(self, X, y=None):
        self.seen.append(X.copy())
        return self.inner.fit_resample(X, y)


def test_augmenter_sees_training_sequences_without_validation_items(X_clustered):
    pytest.importorskip("skrec.augmenters")
    seen = []
    est = TransformerRecommender(**TINY, max_epochs=2, patience=1, augmenter=RecordingCrop(seen))
    est.fit(X_clustered)
    (table,) = seen
    # The table holds item indices (1-based) per user code, positions as time.
    given = {
        est.users_[user]: list(est.items_[rows.sort_values("timestamp")["item"] - 1])
        for user, rows in table.groupby("user")
    }
    frame = pd.DataFrame(X_clustered, columns=["user", "item", "t"]).sort_values("t")
    histories = frame.groupby("user")["item"].agg(list)
    assert len(given) == len(histories) and all(len(h) >= 3 for h in histories)
    for user, history in histories.items():
        # Each history minus its last item (held out for validation): the
        # augmenter never sees a validation item.
        assert given[user] == history[:-1]
    # The views change training: other weights than without the augmenter.
    plain = TransformerRecommender(**TINY, max_epochs=2, patience=1).fit(X_clustered)
    assert not np.allclose(plain.embed_items(plain.items_), est.embed_items(est.items_))


def test_augmenter_inventing_items_is_an_error(X_clustered):
    class Invent:
        def fit_resample(self, X, y=None):
            X = X.copy()
            X.loc[0, "item"] = 10_000
            return X, y

    est = TransformerRecommender(**TINY, max_epochs=1, augmenter=Invent())
    with pytest.raises(ValueError, match="keep item ids valid"):
        est.fit(X_clustered)
