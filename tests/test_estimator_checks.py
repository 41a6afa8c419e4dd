"""The conformance suite fails recommenders that break its rules, and the author's contract.

Each broken subclass below breaks one rule of the recommender contract; the
suite must name the check that catches it. The well-behaved parent passes.
"""

import numpy as np
import pandas as pd
import pytest

from skrec import BaseRecommender, PopularityRecommender
from skrec.utils.estimator_checks import (
    SKLEARN_EXPECTED_FAILED_CHECKS,
    check_recommender,
    expected_failed_checks,
    parametrize_with_checks,
    recommender_checks,
)


class IgnoresExcludeSeen(PopularityRecommender):
    def recommend(self, users, n=10, exclude_seen=True, items=None):
        return super().recommend(users, n, exclude_seen=False, items=items)


class DecisionDisagrees(PopularityRecommender):
    def _score_pairs(self, user_idx, item_idx):
        return -super()._score_pairs(user_idx, item_idx)


class ReversedTies(PopularityRecommender):
    def recommend(self, users, n=10, exclude_seen=True, items=None):
        ids, scores = super().recommend(users, n, exclude_seen, items)
        order = np.lexsort((-np.arange(ids.shape[1])[None, :].repeat(len(ids), 0), -scores))
        return np.take_along_axis(ids, order, 1), np.take_along_axis(scores, order, 1)


class DependsOnBlock(PopularityRecommender):
    def _score_users(self, user_idx, item_idx=None):
        return super()._score_users(user_idx, item_idx) + 0.5 * len(user_idx)


class IgnoresCandidates(PopularityRecommender):
    def recommend(self, users, n=10, exclude_seen=True, items=None):
        return super().recommend(users, n, exclude_seen)


class CrashesOnUnknownUsers(PopularityRecommender):
    def decision_function(self, X):
        users = pd.DataFrame(X).iloc[:, 0]
        {u: 0 for u in self.users_}[users.iloc[0]]  # KeyError for an unknown user
        return super().decision_function(X)


class IgnoresHandleUnknownError(PopularityRecommender):
    def recommend(self, users, n=10, exclude_seen=True, items=None):
        policy, self.handle_unknown = self.handle_unknown, "popular"
        try:
            return super().recommend(users, n, exclude_seen, items)
        finally:
            self.handle_unknown = policy


class LowThreshold(PopularityRecommender):
    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.3).astype(int)


class Unpicklable(PopularityRecommender):
    def _fit_model(self, R, data, previous):
        super()._fit_model(R, data, previous)
        self.transform_ = lambda s: s


class ChangesItsParameter(PopularityRecommender):
    def __init__(self, *, augmenter=None, handle_unknown="popular", n_jobs=None, alpha=1.0):
        super().__init__(augmenter=augmenter, handle_unknown=handle_unknown, n_jobs=n_jobs)
        self.alpha = alpha * 2


class GlobalRandomness(PopularityRecommender):
    def __init__(self, *, augmenter=None, handle_unknown="popular", n_jobs=None, random_state=None):
        super().__init__(augmenter=augmenter, handle_unknown=handle_unknown, n_jobs=n_jobs)
        self.random_state = random_state

    def _fit_model(self, R, data, previous):
        super()._fit_model(R, data, previous)
        self.scores_ = self.scores_ + np.random.rand(len(self.scores_))  # noqa: NPY002


class MutatesItsInput(PopularityRecommender):
    def fit(self, X, y=None, sample_weight=None):
        if isinstance(X, pd.DataFrame) and "item" in X:
            X["item"] = X["item"].to_numpy()[::-1]
        return super().fit(X, y, sample_weight)


class ScoreIsRecall(PopularityRecommender):
    def score(self, X, y=None):
        from skrec.metrics import make_ranking_scorer

        return make_ranking_scorer("recall", k=10)(self, X, y)


class IgnoresSampleWeight(PopularityRecommender):
    def fit(self, X, y=None, sample_weight=None):
        return super().fit(X, y)


class RecommendsRejectedItems(PopularityRecommender):
    def _mask_seen(self, scores, user_idx, cand):
        self._seen, seen = self._seen.multiply(self._seen > 0).tocsr(), self._seen
        try:
            super()._mask_seen(scores, user_idx, cand)
        finally:
            self._seen = seen


class NoFallbackForNegativeOnlyUsers(PopularityRecommender):
    def _candidate_scores(self, user_idx, cand):
        no_positive, self._no_positive = self._no_positive, np.zeros_like(self._no_positive)
        try:
            scores = super()._candidate_scores(user_idx, cand)
        finally:
            self._no_positive = no_positive
        scores[no_positive[user_idx]] = 0.0
        return scores


class CrashesOnEmptyInput(PopularityRecommender):
    def fit(self, X, y=None, sample_weight=None):
        if len(X) == 0:
            raise IndexError("index 0 is out of bounds")
        return super().fit(X, y, sample_weight)


class NotFittedIsAttributeError(PopularityRecommender):
    def recommend(self, users, n=10, exclude_seen=True, items=None):
        self.users_  # noqa: B018 (AttributeError before fit)
        return super().recommend(users, n, exclude_seen, items)


class EmbeddingWidthVaries(PopularityRecommender):
    def _embed_items(self, item_idx):
        return np.ones((len(item_idx), len(item_idx)))


class FloatIds(PopularityRecommender):
    def recommend(self, users, n=10, exclude_seen=True, items=None):
        ids, scores = super().recommend(users, n, exclude_seen, items)
        return ids.astype(np.float64), scores


BROKEN = {
    IgnoresExcludeSeen: "check_recommender_exclude_seen",
    DecisionDisagrees: "check_recommender_ranking_matches_decision_function",
    ReversedTies: "check_recommender_ties_in_candidate_order",
    DependsOnBlock: "check_recommender_blocks_agree",
    IgnoresCandidates: "check_recommender_candidate_items",
    CrashesOnUnknownUsers: "check_recommender_handle_unknown",
    IgnoresHandleUnknownError: "check_recommender_handle_unknown_error",
    LowThreshold: "check_recommender_predict_agrees_with_decision_function",
    Unpicklable: "check_recommender_pickle_roundtrip",
    ChangesItsParameter: "check_recommender_clone_refit",
    GlobalRandomness: "check_recommender_random_state",
    MutatesItsInput: "check_recommender_does_not_mutate_input",
    ScoreIsRecall: "check_recommender_score_is_ndcg",
    IgnoresSampleWeight: "check_recommender_sample_weight",
    RecommendsRejectedItems: "check_recommender_explicit_negatives",
    NoFallbackForNegativeOnlyUsers: "check_recommender_users_without_positives",
    CrashesOnEmptyInput: "check_recommender_bad_input",
    NotFittedIsAttributeError: "check_recommender_unfitted",
    EmbeddingWidthVaries: "check_recommender_embed_items",
    FloatIds: "check_recommender_fit_attributes",
}


def test_the_parent_passes():
    check_recommender(PopularityRecommender())


@pytest.mark.parametrize("broken", list(BROKEN), ids=lambda cls: cls.__name__)
def test_each_broken_recommender_fails_the_check_for_its_rule(broken):
    with pytest.raises(AssertionError) as info:
        check_recommender(broken(), sklearn_checks=False)
    failed = [line.split(":")[0] for line in str(info.value).splitlines()[1:]]
    assert f"- {BROKEN[broken]}" in failed, str(info.value)


def test_every_recommender_check_is_exercised_by_a_broken_recommender():
    names = {
        c.func.__name__
        for _, c in recommender_checks(PopularityRecommender(), sklearn_checks=False)
    }
    assert names == set(BROKEN.values())


def test_sklearn_checks_run_too_and_their_waivers_have_reasons():
    with pytest.raises(AssertionError, match="check_parameters_default_constructible|check_no_att"):
        check_recommender(ChangesItsParameter())
    assert all(len(reason) > 40 for reason in SKLEARN_EXPECTED_FAILED_CHECKS.values())
    assert set(SKLEARN_EXPECTED_FAILED_CHECKS) <= set(
        expected_failed_checks(PopularityRecommender())
    )


def test_extra_expected_failures_are_skipped():
    check_recommender(
        IgnoresExcludeSeen(),
        sklearn_checks=False,
        expected_failed_checks={
            "check_recommender_exclude_seen": "a test",
            "check_recommender_ranking_matches_decision_function": "a test",
            "check_recommender_ties_in_candidate_order": "a test",
            "check_recommender_does_not_mutate_input": "a test",
            "check_recommender_explicit_negatives": "a test",
            "check_recommender_users_without_positives": "a test",
            "check_recommender_score_is_ndcg": "a test",
        },
    )


def test_parametrize_marks_waivers_as_strict_xfail():
    mark = parametrize_with_checks([PopularityRecommender()])
    params = mark.args[1]
    waived = [p for p in params if p.marks]
    assert {p.id.split("-", 1)[1] for p in waived} == set(SKLEARN_EXPECTED_FAILED_CHECKS)
    assert all(m.kwargs["strict"] for p in waived for m in p.marks)


# ------------------------------------------------------------ author's contract
def test_a_recommender_without_its_hooks_cannot_be_built():
    class Half(BaseRecommender):
        def __init__(self, *, handle_unknown="popular"):
            self.handle_unknown = handle_unknown

        def _fit_model(self, R, data, previous):
            pass

    with pytest.raises(TypeError, match="does not implement _embed_items, _score_users"):
        Half()


def test_a_recommender_without_handle_unknown_fails_when_defined():
    with pytest.raises(TypeError, match="must take the parameter 'handle_unknown'.*add"):

        class NoPolicy(BaseRecommender):
            def __init__(self, k=3):
                self.k = k

            def _fit_model(self, R, data, previous):
                pass

            def _score_users(self, user_idx, item_idx=None):
                pass

            def _embed_items(self, item_idx):
                pass


def test_previous_fit_is_typed(X_clustered):
    from skrec.recommenders import PreviousFit

    seen = []

    class Spy(PopularityRecommender):
        def _fit_model(self, R, data, previous):
            seen.append(previous)
            super()._fit_model(R, data, previous)

    est = Spy().fit(X_clustered[:, :2])
    est.fit(X_clustered[:40, :2])
    assert seen[0] is None and isinstance(seen[1], PreviousFit)
    assert set(seen[1].users_) == set(X_clustered[:, 0])
