"""TransformerRecommender's losses, training data path, precision and progress output.

The loss functions are checked against hand-written references on tiny
problems (the sampled softmax over every item is the full softmax; gBCE with
``t=0`` is BCE); the estimator-level tests use tiny models (16 dims, one layer,
a few hundred short sequences) on one thread.
"""

import pickle
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

import torch.nn.functional as F  # noqa: E402

from skrec import PopularityRecommender, TransformerRecommender  # noqa: E402
from skrec.recommenders import _transformer_losses as losses  # noqa: E402
from skrec.recommenders._transformer_training import (  # noqa: E402
    SequenceBatches,
    SequenceDataset,
    pad_left,
)

TINY = dict(embedding_dim=16, n_layers=1, n_heads=2, batch_size=32, random_state=0)
SAMPLED = ["sampled_softmax", "gbce", "bce"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def problem(n=12, n_items=9, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    table = torch.randn(n_items, d, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randint(n_items, (n,), generator=g)
    return hidden, table, target


def grads(value, *tensors):
    return torch.autograd.grad(value.sum(), tensors)


# ------------------------------------------------------------- the functions
def test_sampled_softmax_over_every_item_is_the_full_softmax():
    hidden, table, target = problem()
    n_items = len(table)
    everything = torch.arange(n_items)
    # Each item drawn once, uniformly: log Q is a constant, which cancels.
    log_q = losses.log_expected_counts(n_items, torch.full((n_items,), 1 / n_items), 0, None)
    sampled = losses.sampled_softmax(hidden, target, table, everything, log_q, in_batch=False)
    full = losses.full_softmax(hidden, target, table)
    torch.testing.assert_close(sampled, full)
    for a, b in zip(grads(sampled, hidden, table), grads(full, hidden, table), strict=True):
        torch.testing.assert_close(a, b)
    # A non-constant log Q shifts every logit by its item's term: the logQ-corrected softmax.
    log_q = torch.linspace(-1.0, 1.0, n_items, dtype=torch.float64)
    sampled = losses.sampled_softmax(hidden, target, table, everything, log_q, in_batch=False)
    shifted = F.cross_entropy(hidden @ table.T - log_q, target, reduction="none")
    torch.testing.assert_close(sampled, shifted)


def test_sampled_softmax_duplicates_and_accidental_hits():
    hidden, table, target = problem(n=6)
    negatives = torch.tensor([1, 1, 4, 7, 1])
    log_q = torch.randn(len(table), dtype=torch.float64)
    got = losses.sampled_softmax(hidden, target, table, negatives, log_q, in_batch=True)
    # Reference: one column per draw and per in-batch target, hits of the own target removed.
    candidates = torch.cat([negatives, target])
    expected = []
    for p in range(len(target)):
        logits = [hidden[p] @ table[target[p]] - log_q[target[p]]]
        logits += [
            hidden[p] @ table[c] - log_q[c] for c in candidates.tolist() if c != int(target[p])
        ]
        expected.append(-torch.log_softmax(torch.stack(logits), 0)[0])
    torch.testing.assert_close(got, torch.stack(expected))
    # The in-batch path (one fused cross-entropy) and the general one (masking the hits),
    # given the same candidates, agree in value and gradient.
    general = losses.sampled_softmax(hidden, target, table, candidates, log_q, in_batch=False)
    torch.testing.assert_close(got, general)
    for a, b in zip(grads(got, hidden, table), grads(general, hidden, table), strict=True):
        torch.testing.assert_close(a, b)


def test_log_expected_counts():
    sampling = torch.tensor([0.5, 0.25, 0.25])
    popularity = torch.tensor([0.0, 0.5, 0.5])
    log_q = losses.log_expected_counts(4, sampling, 10, popularity)
    torch.testing.assert_close(log_q.exp(), torch.tensor([2.0, 6.0, 6.0]))


def test_gbce_beta():
    assert losses.gbce_beta(10, 101, 0.0) == pytest.approx(1.0)
    assert losses.gbce_beta(10, 101, 1.0) == pytest.approx(0.1)  # alpha = 10 / 100
    assert 0.1 < losses.gbce_beta(10, 101, 0.75) < 1.0
    # More negatives than items: alpha is capped at 1, the loss is BCE for every t.
    assert losses.gbce_beta(500, 101, 0.75) == pytest.approx(1.0)


def test_gbce_with_t_zero_is_bce():
    hidden, table, target = problem()
    negatives = torch.tensor([0, 3, 3, 5])
    beta = losses.gbce_beta(len(negatives), len(table), 0.0)
    got = losses.gbce(hidden, target, table, negatives, beta)
    offset = losses.gbce_offset(len(negatives), beta)
    positive = (hidden * table[target]).sum(-1) + offset
    negative = hidden @ table[negatives].T + offset
    hit = negatives[None, :] == target[:, None]
    bce = F.binary_cross_entropy_with_logits(positive, torch.ones_like(positive), reduction="none")
    bce = bce + torch.where(
        hit,
        0.0,
        F.binary_cross_entropy_with_logits(negative, torch.zeros_like(negative), reduction="none"),
    ).sum(1)
    torch.testing.assert_close(got, bce / (len(negatives) + 1))
    # gBCE (t > 0) lowers the weight of the positive term only.
    gradient = grads(losses.gbce(hidden, target, table, negatives, 0.5), hidden)[0]
    shift = losses.gbce_offset(len(negatives), 0.5) - offset
    torch.testing.assert_close(
        gradient,
        grads(
            (
                0.5 * F.softplus(-(positive + shift))
                + torch.where(hit, 0.0, F.softplus(negative + shift)).sum(1)
            )
            / (len(negatives) + 1),
            hidden,
        )[0],
    )


@pytest.mark.parametrize("t", [0.0, 0.75, 1.0])
def test_gbce_starts_where_its_terms_balance(t):
    # All scores equal (a fresh model's are all near 0): a shift common to every
    # logit must not lower the loss, or the first epochs only push every score down.
    n_items, k, n = 1000, 64, 5
    beta = losses.gbce_beta(k, n_items, t)
    unit = torch.tensor([1.0, 0.0, 0.0, 0.0])
    common = torch.zeros((), requires_grad=True)
    table = torch.zeros(n_items, 4) + common * unit  # every score equals `common`
    hidden = unit.repeat(n, 1)
    negatives = torch.arange(100, 100 + k)
    loss = losses.gbce(hidden, torch.arange(n), table, negatives, beta)
    (grad,) = torch.autograd.grad(loss.mean(), common)
    assert abs(float(grad)) < 1e-6


def test_reduce_positions_weights():
    per_position = torch.tensor([1.0, 2.0, 3.0])
    assert float(losses.reduce_positions(per_position, None)) == pytest.approx(2.0)
    weight = torch.tensor([0.0, 1.0, 3.0])
    assert float(losses.reduce_positions(per_position, weight)) == pytest.approx(11 / 4)


# --------------------------------------------------------------- data path
def test_batches_slice_whole_padded_tensors(monkeypatch):
    rng = np.random.default_rng(0)
    sequences = [rng.integers(1, 30, size=rng.integers(2, 12)) for _ in range(203)]
    dataset = SequenceDataset(
        pad_left([s[:-1] for s in sequences], 10), pad_left([s[1:] for s in sequences], 10)
    )

    def no_item_access(self, i):
        raise AssertionError("the training iterator must not read items one by one")

    monkeypatch.setattr(SequenceDataset, "__getitem__", no_item_access)
    torch.manual_seed(0)
    batches = list(SequenceBatches(dataset, batch_size=16, shuffle=True))
    assert len(batches) == len(SequenceBatches(dataset, batch_size=16)) == 13
    seen = torch.cat([x["seq"] for x, _ in batches])
    # Every sequence exactly once per epoch.
    rows = {tuple(r) for r in dataset.inputs.tolist()}
    assert sorted(map(tuple, seen.tolist())) == sorted(map(tuple, dataset.inputs.tolist()))
    assert len(rows) > 150
    # Length buckets: a batch holds sequences of similar length, so little padding.
    spread = [int(np.ptp((x["seq"] != 0).sum(1).numpy())) for x, _ in batches]
    assert np.median(spread) <= 2
    torch.manual_seed(0)
    again = list(SequenceBatches(dataset, batch_size=16, shuffle=True))
    assert all(torch.equal(a[0]["seq"], b[0]["seq"]) for a, b in zip(batches, again, strict=True))


@pytest.mark.parametrize("weighted", [False, True])
def test_a_position_weighs_the_same_in_every_batch(weighted, monkeypatch):
    rng = np.random.default_rng(0)
    X = np.array([(f"u{u}", f"i{u % 30}", t) for u in range(60) for t in range(2)], dtype=object)
    est = TransformerRecommender(**TINY, dropout=0.0, loss="softmax", max_epochs=1, patience=None)
    net = est.fit(X).net_
    # Short sequences over items 1-9, long ones over items 11-30; length buckets
    # put them in different batches. A stand-in loss: 5 at a target of items
    # 1-9, 1 at the others (still differentiable in the hidden states).
    sequences = [
        rng.integers(1, 10, size=3) if u % 2 else rng.integers(11, 31, size=12) for u in range(64)
    ]
    inputs = pad_left([s[:-1] for s in sequences], est.max_len)
    targets = pad_left([s[1:] for s in sequences], est.max_len)
    weights = None
    if weighted:
        weights = np.where(targets > 0, rng.uniform(0.5, 2.0, size=targets.shape), 0.0)
    dataset = SequenceDataset(inputs, targets, weights=weights)

    def stand_in(hidden, target, table):
        return 1.0 + 4.0 * (target < 9).to(hidden.dtype) + 0.0 * hidden.sum(-1)

    monkeypatch.setattr(losses, "full_softmax", stand_in)
    net.positions_per_row_ = net._positions_per_row(dataset)
    w = np.ones_like(targets, dtype=float) if weights is None else weights
    per_position = np.where(targets > 0, np.where(targets < 10, 5.0, 1.0), 0.0)
    assert net.positions_per_row_ == pytest.approx((w * (targets > 0)).sum() / len(sequences))

    def epoch_loss(bucket):
        torch.manual_seed(0)
        batches = SequenceBatches(dataset, batch_size=8, shuffle=True, bucket=bucket)
        return sum(float(net.train_step_single(batch)["loss"]) for batch in batches)

    # The batch losses add up to the epoch's weighted per-position total over one
    # constant, whichever positions share a batch.
    total = (w * per_position).sum() / (8 * net.positions_per_row_)
    assert epoch_loss(True) == pytest.approx(total, rel=1e-5)
    assert epoch_loss(False) == pytest.approx(total, rel=1e-5)
    # Each batch's own mean would count a position of a short-sequence batch
    # several times over.
    net.positions_per_row_ = 0.0
    assert epoch_loss(True) > 1.5 * total


# ----------------------------------------------------------- the estimator
def cycles(n_users=150, n_items=20, seed=0, lengths=(5, 9)):
    """Each user walks a cycle of items: item k+1 always follows item k."""
    rng = np.random.default_rng(seed)
    rows, last = [], {}
    for u in range(n_users):
        start, length = rng.integers(n_items), rng.integers(*lengths)
        for t in range(length):
            rows.append((f"u{u}", f"i{(start + t) % n_items}", t))
        last[f"u{u}"] = (start + length - 1) % n_items
    return np.array(rows, dtype=object), last


@pytest.mark.parametrize("loss", ["sampled_softmax", "gbce"])
def test_new_losses_learn_an_order_only_pattern(loss):
    X, last = cycles()
    users = np.array(sorted(last))
    expected = np.array([f"i{(last[u] + 1) % 20}" for u in users])
    est = TransformerRecommender(
        **{**TINY, "embedding_dim": 32},
        max_epochs=15,
        lr=5e-3,
        dropout=0.1,
        loss=loss,
        n_negatives=8,
        patience=None,
    ).fit(X)
    ids, _ = est.recommend(users, n=1)
    assert (ids[:, 0] == expected).mean() > (0.9 if loss == "sampled_softmax" else 0.5)


@pytest.mark.parametrize("loss", SAMPLED)
def test_sampled_losses_are_seeded(loss, X_clustered):
    params = dict(TINY, max_epochs=2, loss=loss, n_negatives=5, negative_sampler="popularity")
    users = np.unique(X_clustered[:, 0])
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    first = TransformerRecommender(**params).fit(X_clustered)
    assert torch.equal(torch.rand(1), expected)  # the global torch RNG is untouched
    again = TransformerRecommender(**params).fit(X_clustered)
    other = TransformerRecommender(**{**params, "random_state": 1}).fit(X_clustered)
    ids, scores = first.recommend(users, n=10)
    np.testing.assert_array_equal(again.recommend(users, n=10)[1], scores)
    assert not np.array_equal(other.recommend(users, n=10)[1], scores)


def two_continuations(weight_b: float, weight_c: float):
    """Half the users go A -> B, half A -> C; probe users have seen only A."""
    rows, weights = [], []
    for u in range(60):
        second, w = ("B", weight_b) if u % 2 else ("C", weight_c)
        rows += [(f"u{u}", "A", 0), (f"u{u}", second, 1)]
        weights += [1.0, w]
    for u in range(5):
        rows.append((f"probe{u}", "A", 0))
        weights.append(1.0)
    fillers = [(f"f{u}", f"x{u % 7}", 0) for u in range(14)]
    return np.array(rows + fillers, dtype=object), np.array(weights + [1.0] * len(fillers))


@pytest.mark.parametrize("loss", ["softmax", *SAMPLED])
def test_sample_weight_reaches_every_loss(loss):
    params = dict(TINY, max_epochs=25, lr=5e-3, dropout=0.0, loss=loss, n_negatives=4)
    probes = [f"probe{u}" for u in range(5)]
    margins = []
    for wb, wc in [(6.0, 1.0), (1.0, 6.0)]:
        X, w = two_continuations(wb, wc)
        est = TransformerRecommender(**params, patience=None).fit(X, sample_weight=w)
        pairs = np.array([(p, item) for p in probes for item in ("B", "C")], dtype=object)
        score = est.score_samples(pairs).reshape(-1, 2)
        margins.append(float(np.mean(score[:, 0] - score[:, 1])))
    # The heavier continuation wins, whichever it is.
    assert margins[0] > 0 > margins[1], margins


def test_defaults_beat_popularity_on_sequences():
    """Markov sequences over a skewed catalogue: the defaults, untouched, beat popularity."""
    rng = np.random.default_rng(0)
    n_items, n_users = 60, 400
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    successors = {i: rng.choice(n_items, 3, replace=False) for i in range(n_items)}
    rows = []
    for u in range(n_users):
        item = rng.choice(n_items, p=popularity / popularity.sum())
        for t in range(rng.integers(4, 12)):
            rows.append((u, item, t))
            item = successors[item][rng.choice(3, p=[0.7, 0.2, 0.1])]
    X = np.array(rows)
    last = np.r_[X[1:, 0] != X[:-1, 0], True]
    train, test = X[~last], X[last]
    rec = TransformerRecommender(random_state=0).fit(train)
    pop = PopularityRecommender().fit(train)
    assert rec.score(test) > pop.score(test) + 0.15, (rec.score(test), pop.score(test))


@pytest.mark.parametrize(("batch_size", "expected"), [(256, 256), (7, 7), ("auto", 32)])
def test_batch_size_default_and_auto(batch_size, expected):
    """256 by default; "auto" is a 32nd of the training sequences, at least 32."""
    X, _ = cycles(n_users=150)  # 150 training sequences: 150 // 32 = 4, clipped to 32
    params = dict(TINY, batch_size=batch_size, max_epochs=1, patience=None)
    assert TransformerRecommender(**params).fit(X).batch_size_ == expected
    assert TransformerRecommender().batch_size == 256


# --------------------------------------------------- precision and compile
def test_mixed_precision_on_cpu(X_clustered):
    from skrec.recommenders import _transformer

    params = dict(TINY, max_epochs=2, device="cpu")
    if _transformer._cpu_has_native_bf16():
        est = TransformerRecommender(**params, precision="mixed").fit(X_clustered)
    else:
        with pytest.warns(UserWarning, match="native bfloat16") as record:
            est = TransformerRecommender(**params, precision="mixed").fit(X_clustered)
        assert record[0].filename == __file__  # points at the caller of fit
    assert est.net_.precision == "bf16"
    assert np.isfinite(est.net_.history[:, "train_loss"]).all()
    assert est.user_states_.dtype == np.float32
    auto = TransformerRecommender(**params).fit(X_clustered)
    assert auto.net_.precision == "float32"  # "auto" is float32 on the CPU
    plain = TransformerRecommender(**params, precision="float32").fit(X_clustered)
    np.testing.assert_array_equal(auto.user_states_, plain.user_states_)


@pytest.mark.slow
def test_compiled_training_matches_eager_training(X_clustered):
    params = dict(TINY, max_epochs=2, dropout=0.0, patience=None)
    eager = TransformerRecommender(**params).fit(X_clustered)
    compiled = TransformerRecommender(**params, compile=True).fit(X_clustered)
    assert "_compiled_forward" in compiled.net_.__dict__  # trained through the wrapper
    # The same computation, fused differently: equal up to float rounding.
    np.testing.assert_allclose(compiled.user_states_, eager.user_states_, rtol=1e-3, atol=1e-4)
    again = pickle.loads(pickle.dumps(compiled))  # the compiled wrapper is not pickled
    np.testing.assert_array_equal(again.user_states_, compiled.user_states_)
    assert "_compiled_forward" not in again.net_.__dict__


# --------------------------------------------------------- progress output
def test_progress_output_is_plain_and_labelled_in_a_pipe(X_clustered, capsys):
    TransformerRecommender(
        **TINY, max_epochs=3, pretrain="mlm", pretrain_epochs=2, verbose=True
    ).fit(X_clustered)
    out = capsys.readouterr().out
    assert not ANSI.search(out), "colour codes in piped output"
    pretraining = out.index("masked-item pretraining")
    training = out.index("next-item training")
    assert pretraining < training
    # Each phase has its own table: a header after each title.
    assert out.count("train_loss") == 2
    assert out.index("train_loss", pretraining) < training < out.rindex("train_loss")
    assert "*" in out[training:]  # best validation epochs are marked, not coloured


def test_progress_output_is_coloured_on_a_terminal(X_clustered, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    TransformerRecommender(**TINY, max_epochs=2, verbose=True).fit(X_clustered)
    assert ANSI.search(capsys.readouterr().out)


# ------------------------------------------------------------------- CUDA
@pytest.mark.cuda
@pytest.mark.parametrize("loss", ["softmax", *SAMPLED])
def test_cuda_training_and_scoring(loss, X_clustered):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    params = dict(TINY, max_epochs=2, loss=loss, n_negatives=5)
    gpu = TransformerRecommender(**params, device="cuda").fit(X_clustered)
    assert gpu.net_.device == "cuda" and gpu.net_.precision in ("bf16", "fp16")
    assert str(next(gpu.module_.parameters()).device).startswith("cuda")
    assert np.isfinite(gpu.user_states_).all()
    ids, scores = gpu.recommend(np.unique(X_clustered[:, 0])[:5], n=5)
    assert ids.shape == (5, 5) and np.isfinite(scores).all()
    full = TransformerRecommender(**params, device="cuda", precision="float32").fit(X_clustered)
    assert full.net_.precision == "float32"
    again = TransformerRecommender(**params, device="cuda", precision="float32").fit(X_clustered)
    np.testing.assert_allclose(again.user_states_, full.user_states_, rtol=1e-4, atol=1e-5)
