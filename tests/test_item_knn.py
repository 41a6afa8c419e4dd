"""ItemKNNRecommender: hand-computed similarities, implicit's neighbours, blocks and threads."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, TFIDFRecommender
from sklearn.model_selection import GridSearchCV

from skrec import ItemKNNRecommender
from skrec.datasets import make_interactions
from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold
from skrec.recommenders import _knn_similarity

# Five users x three items; strengths. Item vectors (one entry per user):
#   a = [1, 1, 0, 2, 1],  b = [2, 0, 1, 1, 0],  c = [0, 1, 1, 1, 0]
ROWS = [
    ("u0", "a", 1.0),
    ("u0", "b", 2.0),
    ("u1", "a", 1.0),
    ("u1", "c", 1.0),
    ("u2", "b", 1.0),
    ("u2", "c", 1.0),
    ("u3", "a", 2.0),
    ("u3", "b", 1.0),
    ("u3", "c", 1.0),
    ("u4", "a", 1.0),
]
X_SMALL = [[u, i] for u, i, _ in ROWS]
Y_SMALL = np.array([s for _, _, s in ROWS])


def similarity_table(rec):
    """similarity_ as {(item, item): value}."""
    S = rec.similarity_.tocoo()
    return {(rec.items_[i], rec.items_[j]): v for i, j, v in zip(S.row, S.col, S.data)}


def test_cosine_by_hand():
    # |a| = sqrt(1+1+4+1) = sqrt(7), |b| = sqrt(4+1+1) = sqrt(6), |c| = sqrt(3)
    # a.b = 2 + 2 = 4, a.c = 1 + 2 = 3, b.c = 1 + 1 = 2
    sims = similarity_table(ItemKNNRecommender(k=2, similarity="cosine").fit(X_SMALL, Y_SMALL))
    expected = {
        ("a", "b"): 4 / math.sqrt(42),
        ("a", "c"): 3 / math.sqrt(21),
        ("b", "c"): 2 / math.sqrt(18),
    }
    for (i, j), v in expected.items():
        assert sims[i, j] == pytest.approx(v, rel=1e-6)
        assert sims[j, i] == pytest.approx(v, rel=1e-6)
    assert ("a", "a") not in sims  # an item is not its own neighbour


def test_jaccard_by_hand():
    # U_a = {0,1,3,4}, U_b = {0,2,3}, U_c = {1,2,3}: a&b = {0,3}, a&c = {1,3}, b&c = {2,3}
    sims = similarity_table(ItemKNNRecommender(k=2, similarity="jaccard").fit(X_SMALL, Y_SMALL))
    assert sims["a", "b"] == pytest.approx(2 / 5)
    assert sims["a", "c"] == pytest.approx(2 / 5)
    assert sims["b", "c"] == pytest.approx(2 / 4)


def test_shrinkage_by_hand():
    # jaccard(b, c) = 1/2 from n_bc = 2 common users; shrinkage 3 -> 1/2 * 2 / (2 + 3)
    rec = ItemKNNRecommender(k=2, similarity="jaccard", shrinkage=3.0).fit(X_SMALL, Y_SMALL)
    assert similarity_table(rec)["b", "c"] == pytest.approx(0.5 * 2 / 5)
    rec = ItemKNNRecommender(k=2, similarity="cosine", shrinkage=1.0).fit(X_SMALL, Y_SMALL)
    assert similarity_table(rec)["a", "b"] == pytest.approx(4 / math.sqrt(42) * 2 / 3, rel=1e-6)


def reference_similarity(item_users, n_users, similarity, shrinkage=0.0, k1=1.2, b=0.75):
    """Every pair's similarity, written out item by item from the formulas (no matrices).

    ``item_users``: one dict {user: strength} per item.
    """
    n_items = len(item_users)
    items_of_user = [0] * n_users
    for users in item_users:
        for u in users:
            items_of_user[u] += 1
    idf = [math.log(n_items) - math.log(1 + items_of_user[u]) for u in range(n_users)]
    lengths = [sum(users.values()) for users in item_users]
    mean_length = sum(lengths) / n_items

    def weighted(i):
        users = item_users[i]
        if similarity == "tfidf":
            return {u: math.sqrt(r) * idf[u] for u, r in users.items()}
        if similarity == "bm25":
            norm = 1 - b + b * lengths[i] / mean_length
            return {u: r * (k1 + 1) / (k1 * norm + r) * idf[u] for u, r in users.items()}
        return dict(users)

    vectors = [weighted(i) for i in range(n_items)]
    out = np.zeros((n_items, n_items))
    for i in range(n_items):
        for j in range(n_items):
            common = set(item_users[i]) & set(item_users[j])
            if i == j or not common:
                continue
            if similarity == "jaccard":
                union = set(item_users[i]) | set(item_users[j])
                value = len(common) / len(union)
            else:
                value = sum(vectors[i][u] * vectors[j][u] for u in common)
                if similarity in ("cosine", "tfidf"):
                    norm_i = math.sqrt(sum(w * w for w in vectors[i].values()))
                    norm_j = math.sqrt(sum(w * w for w in vectors[j].values()))
                    value /= norm_i * norm_j
            out[i, j] = value * len(common) / (len(common) + shrinkage)
    return out


def random_matrix(seed=0, n_users=60, n_items=25, density=0.15):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    values = rng.integers(1, 5, (n_users, n_items)).astype(np.float32)
    return sp.csr_matrix(np.where(mask, values, 0.0).astype(np.float32))


@pytest.mark.parametrize("similarity", ["cosine", "tfidf", "bm25", "jaccard"])
@pytest.mark.parametrize("shrinkage", [0.0, 4.0])
def test_every_similarity_equals_the_written_out_formula(similarity, shrinkage):
    X = random_matrix()
    columns = X.tocsc()
    item_users = [
        dict(zip(columns.indices[p:q], columns.data[p:q].astype(float)))
        for p, q in zip(columns.indptr[:-1], columns.indptr[1:])
    ]
    expected = reference_similarity(item_users, X.shape[0], similarity, shrinkage)
    for method in ("auto", "blocks"):
        got = _knn_similarity.top_k_similarities(
            X, k=X.shape[1], similarity=similarity, shrinkage=shrinkage, method=method
        ).toarray()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("similarity", ["cosine", "tfidf", "bm25"])
def test_blocks_equal_implicits_all_pairs_knn(similarity):
    rng = np.random.default_rng(4)
    X = random_matrix(seed=4, n_users=150, n_items=70, density=0.15)
    X.data = (X.data + rng.random(X.nnz)).astype(np.float32)  # no exact ties
    auto = _knn_similarity.top_k_similarities(X, k=9, similarity=similarity)
    blocks = _knn_similarity.top_k_similarities(X, k=9, similarity=similarity, method="blocks")
    np.testing.assert_array_equal(auto.indptr, blocks.indptr)
    np.testing.assert_array_equal(auto.indices, blocks.indices)
    np.testing.assert_allclose(auto.data, blocks.data, rtol=1e-5)


@pytest.mark.parametrize(
    "similarity, implicit_model",
    [
        ("cosine", CosineRecommender),
        ("tfidf", TFIDFRecommender),
        ("bm25", BM25Recommender),
    ],
)
def test_neighbours_and_recommendations_equal_implicit(similarity, implicit_model):
    rng = np.random.default_rng(1)
    X = random_matrix(seed=1, n_users=120, n_items=40, density=0.2)
    X.data = (X.data + rng.random(X.nnz)).astype(np.float32)  # no exact ties
    k = 6
    # implicit keeps the item itself among its K neighbours; skrec keeps k others.
    raw = implicit_model(K=k + 1, num_threads=1)
    raw.fit(X, show_progress=False)
    raw_sim = raw.similarity.tolil()
    raw_sim.setdiag(0)
    raw_sim = raw_sim.tocsr()
    raw_sim.eliminate_zeros()

    rows, cols = X.nonzero()
    rec = ItemKNNRecommender(k=k, similarity=similarity).fit(np.column_stack([rows, cols]), X.data)
    assert list(rec.users_) == list(range(X.shape[0]))
    assert list(rec.items_) == list(range(X.shape[1]))
    np.testing.assert_allclose(rec.similarity_.toarray(), raw_sim.toarray(), rtol=1e-5, atol=1e-7)

    users = np.arange(X.shape[0])
    raw_ids, raw_scores = raw.recommend(users, X, N=5)
    ids, scores = rec.recommend(users, n=5)
    a, b = rec.calibration_
    finite = np.isfinite(scores)
    np.testing.assert_allclose(((scores - b) / a)[finite], raw_scores[finite], rtol=1e-4)
    assert (ids == raw_ids)[finite].mean() > 0.98


def test_ties_keep_the_lower_item_and_k_limits_the_neighbours():
    # Item 0 is equally similar (jaccard 1/3) to items 1, 2 and 3; k=2 keeps 1 and 2.
    X = sp.csr_matrix(np.array([[1, 1, 1, 1], [1, 0, 0, 0], [0, 1, 1, 1]], dtype=np.float32))
    S = _knn_similarity.top_k_similarities(X, k=2, similarity="jaccard").toarray()
    np.testing.assert_allclose(S[0], [0, 1 / 3, 1 / 3, 0], rtol=1e-6)
    assert ((S > 0).sum(axis=1) <= 2).all()


def test_blocks_and_threads_do_not_change_the_result(monkeypatch):
    X = random_matrix(seed=2, n_users=200, n_items=90, density=0.1)
    one = _knn_similarity.top_k_similarities(X, k=7, similarity="bm25", shrinkage=2.0)
    monkeypatch.setattr(_knn_similarity, "BLOCK_ENTRIES", 500)
    assert len(_knn_similarity._blocks(X.shape[1])) > 10
    for n_jobs in (1, 2):
        many = _knn_similarity.top_k_similarities(
            X, k=7, similarity="bm25", shrinkage=2.0, n_jobs=n_jobs
        )
        assert (many != one).nnz == 0
    # Selecting by sorting the pairs (sparse blocks) or in a dense block: the same.
    for share in (0.0, 1.1):
        monkeypatch.setattr(_knn_similarity, "_SPARSE_SELECT", share)
        other = _knn_similarity.top_k_similarities(X, k=7, similarity="jaccard", shrinkage=2.0)
        monkeypatch.setattr(_knn_similarity, "_SPARSE_SELECT", 1.1 - share)
        again = _knn_similarity.top_k_similarities(X, k=7, similarity="jaccard", shrinkage=2.0)
        assert (other != again).nnz == 0


def test_scores_sum_similarities_of_the_users_items():
    rec = ItemKNNRecommender(k=2, similarity="jaccard").fit(X_SMALL, Y_SMALL)
    # u4 has only a (strength 1): b and c score jaccard(a, b) = jaccard(a, c) = 2/5.
    raw = rec.score_samples([["u4", "b"], ["u4", "c"]])
    np.testing.assert_allclose(raw, [0.4, 0.4], rtol=1e-6)
    # u2 has b and c (1 each): a scores jaccard(b, a) + jaccard(c, a) = 4/5.
    assert rec.score_samples([["u2", "a"]])[0] == pytest.approx(0.8, rel=1e-6)


def test_item_knn_beats_popularity_and_grid_search_tunes_it():
    from skrec import PopularityRecommender

    data = make_interactions(n_users=300, n_items=60, n_interactions=6000, random_state=0)
    train, test = next(PerUserKFold(n_splits=5, random_state=0).split(data.X))
    X_train, X_test = data.X.iloc[train], data.X.iloc[test]
    scorer = make_ranking_scorer("ndcg", k=10)
    knn = ItemKNNRecommender(k=20).fit(X_train)
    assert scorer(knn, X_test) > scorer(PopularityRecommender().fit(X_train), X_test) + 0.02
    search = GridSearchCV(
        ItemKNNRecommender(),
        {"similarity": ["cosine", "jaccard"], "k": [5, 20]},
        cv=PerUserKFold(n_splits=2, random_state=0),
        scoring=scorer,
        error_score="raise",
    ).fit(data.X)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_verbose_shows_progress(capsys):
    ItemKNNRecommender(k=2, shrinkage=1.0, verbose=True).fit(X_SMALL, Y_SMALL)
    assert "item similarities" in capsys.readouterr().err


@pytest.mark.parametrize(
    "param, value", [("k", 0), ("similarity", "pearson"), ("shrinkage", -1.0), ("bm25_b", 2.0)]
)
def test_bad_parameters_are_rejected(param, value):
    with pytest.raises(ValueError, match=param):
        ItemKNNRecommender(**{param: value}).fit(X_SMALL, Y_SMALL)
