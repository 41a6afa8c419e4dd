import numpy as np
import pytest

import skrec.recommenders._ease as ease_module
from skrec import EASERecommender


def test_matches_per_item_ridge_regression():
    """EASE with diag(B)=0 is, column by column, a ridge regression on the other items."""
    rng = np.random.default_rng(0)
    dense = (rng.random((40, 12)) < 0.3).astype(float)
    rows, cols = np.nonzero(dense)
    est = EASERecommender(l2=3.0).fit(np.column_stack([rows, cols]))
    X = dense[:, np.argsort(np.unique(cols))]  # item order = sorted ids
    for j in range(X.shape[1]):
        others = np.delete(np.arange(X.shape[1]), j)
        A = X[:, others]
        b = np.linalg.solve(A.T @ A + 3.0 * np.eye(len(others)), A.T @ X[:, j])
        np.testing.assert_allclose(est.coef_[others, j], b, rtol=1e-4, atol=1e-6)
        assert est.coef_[j, j] == 0


def test_scores_are_history_times_weights():
    X = np.array([[0, 0], [0, 1], [1, 1], [1, 2], [2, 0], [2, 2]])
    est = EASERecommender(l2=1.0).fit(X)
    history = est.interactions_.toarray()
    expected = history @ est.coef_
    np.testing.assert_allclose(
        est.score_samples([[0, 2], [1, 0]]), [expected[0, 2], expected[1, 0]], rtol=1e-6
    )


def test_refuses_catalogue_too_large_for_memory(monkeypatch):
    monkeypatch.setattr(ease_module, "_available_memory", lambda: 10_000)
    X = np.column_stack([np.arange(100) % 7, np.arange(100)])
    with pytest.raises(ValueError, match=r"100 x 100 item matrix.*use ALSRecommender"):
        EASERecommender().fit(X)


def test_l2_must_be_positive():
    with pytest.raises(ValueError, match="l2"):
        EASERecommender(l2=0).fit([[0, 1]])
