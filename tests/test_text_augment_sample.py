"""``text_neighbours`` (semantic sample expansion) and ``text_coverage`` (content elicitation)."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sentence_transformers")

import skrec.augmenters as A  # noqa: E402
import skrec.samplers as S  # noqa: E402
from skrec import ALSRecommender, PopularityRecommender, SentenceTransformerRecommender  # noqa: E402
from skrec.augmenters import TextNeighboursAugmenter  # noqa: E402
from skrec.samplers import TextCoverageSampler  # noqa: E402
from skrec.utils import EmbeddingCache  # noqa: E402
from skrec.utils.estimator_checks import check_augmenter, check_sampler  # noqa: E402
from tests._text_model import session_model, topic_texts  # noqa: E402
from tests.test_common import text_of  # noqa: E402

COLD = [f"i{i}" for i in range(32, 40)]


@pytest.fixture(scope="module")
def topical():
    """User u likes 5 items of topic u % 4 among i0..i31; i32..i39 only have a text."""
    rng = np.random.default_rng(0)
    rows = [
        (u, item)
        for u in range(120)
        for item in rng.choice([f"i{i}" for i in range(u % 4, 32, 4)], 5, replace=False)
    ]
    return pd.DataFrame(rows, columns=["user", "item"]), topic_texts(40)


def augmenter(text, **params):
    return TextNeighboursAugmenter(item_text=text, model=session_model(), **params)


# ----------------------------------------------------------------- augmenter
def test_text_neighbours_is_a_builtin_and_passes_check_augmenter():
    assert A.available()["text_neighbours"] == "built-in"
    assert isinstance(A.get("text_neighbours"), TextNeighboursAugmenter)
    check_augmenter(augmenter(text_of, cache=EmbeddingCache()))


def test_check_augmenter_accepts_the_cold_items_of_its_catalogue():
    # The check's inputs use items 0..19; the mapping adds cold items 20..24.
    text = {i: f"item {i} {TOPIC}" for i, TOPIC in zip(range(25), "abcde" * 5)}
    text.update({f"i{i}": f"item {i} classic" for i in range(20)})
    check_augmenter(augmenter(text, cache=EmbeddingCache()))


def test_als_ranks_cold_items_by_text_only_with_text_neighbours(topical):
    X, text = topical

    def topic_share(est):
        ids, _ = est.recommend(np.arange(120), n=1, items=COLD)
        return float(np.mean([int(ids[u, 0][1:]) % 4 == u % 4 for u in range(120)]))

    plain = ALSRecommender(factors=8, iterations=10, random_state=0).fit(X)
    assert not set(COLD) & set(plain.items_)  # ALS has never heard of them: all tie
    expanded = ALSRecommender(
        factors=8, iterations=10, random_state=0, augmenter=augmenter(text, k=3)
    ).fit(X)
    assert set(COLD) <= set(expanded.items_)
    assert topic_share(expanded) > 0.9  # chance: 0.25


def test_rows_added_are_text_neighbours_down_weighted(topical):
    X, text = topical
    y = np.where(np.arange(len(X)) % 2 == 0, 2.0, 1.0)
    X_new, y_new = augmenter(text, k=2, weight=0.5, cold_items=False).fit_resample(X, y)
    assert X_new.iloc[: len(X)].equals(X) and np.array_equal(y_new[: len(X)], y)
    added = X_new.iloc[len(X) :].assign(y=y_new[len(X) :])
    # Same topic as the user (the tiny model's text space), never a pair the user has.
    assert (added["item"].str[1:].astype(int) % 4 == added["user"] % 4).all()
    pairs = set(zip(X["user"], X["item"]))
    assert not any((u, i) in pairs for u, i in zip(added["user"], added["item"]))
    assert not added.duplicated(["user", "item"]).any()
    assert set(added["y"]) <= {0.5, 1.0}  # weight x the source row's y
    # Largest weight wins: a pair reached from a y=2 row has weight 1.
    assert added["y"].max() == 1.0


def test_sparse_users_and_cold_items_are_chosen_by_the_parameters(topical):
    X, text = topical
    sparse = pd.concat([X, pd.DataFrame({"user": [999], "item": ["i0"]})], ignore_index=True)
    only_sparse, _ = augmenter(text, k=2, max_history=1, cold_items=False).fit_resample(sparse)
    assert set(only_sparse.iloc[len(sparse) :]["user"]) == {999}
    only_cold, _ = augmenter(text, k=2, max_history=0).fit_resample(X)
    added = only_cold.iloc[len(X) :]
    assert set(added["item"]) == set(COLD)
    # Each cold item borrows the users of its two nearest warm items, so all of its topic's.
    for item in COLD:
        users = set(added.loc[added["item"] == item, "user"])
        assert users and all(u % 4 == int(item[1:]) % 4 for u in users)
    nothing, _ = augmenter(text, max_history=0, cold_items=False).fit_resample(X)
    assert len(nothing) == len(X)


def test_function_item_text_adds_no_items_and_none_is_an_error(topical):
    X, text = topical
    X_new, _ = augmenter(text.__getitem__, k=2).fit_resample(X)
    assert set(X_new["item"]) == set(X["item"])
    with pytest.raises(ValueError, match="needs item_text"):
        TextNeighboursAugmenter(model=session_model()).fit_resample(X)


def test_augmenter_shares_the_recommenders_embedding_cache(topical):
    X, text = topical
    cache = EmbeddingCache()
    SentenceTransformerRecommender(session_model(), item_text=text, cache=cache).fit(X)
    encoded = cache.n_encoded_
    augmenter(text, cache=cache).fit_resample(X)
    assert cache.n_encoded_ == encoded


# ------------------------------------------------------------------- sampler
def test_text_coverage_is_a_builtin_and_passes_check_sampler():
    assert S.available()["text_coverage"] == "built-in"
    check_sampler(
        S.get("text_coverage", item_text=text_of, model=session_model(), cache=EmbeddingCache())
    )


def test_new_user_is_asked_the_most_popular_item_then_other_topics(topical):
    X, text = topical
    # Popularity: topic-0 items most popular (each topic-0 item liked by many users).
    extra = pd.DataFrame({"user": np.repeat(np.arange(200, 260), 2), "item": ["i0", "i4"] * 60})
    rec = PopularityRecommender().fit(pd.concat([X, extra], ignore_index=True))
    pool = pd.DataFrame({"user": 999, "item": [f"i{i}" for i in range(40)]})
    sampler = TextCoverageSampler(item_text=text, model=session_model(), random_state=0)
    picked = pool["item"].to_numpy()[sampler(rec, pool, n_instances=4)]
    assert picked[0] in ("i0", "i4")  # the most popular first
    assert sorted(int(i[1:]) % 4 for i in picked) == [0, 1, 2, 3]  # then one per topic
    # Popularity alone asks four topic-0 items (well, the top-4 popular ones).
    popular = pool["item"].to_numpy()[S.get("popularity", random_state=0)(rec, pool, 4)]
    assert len({int(i[1:]) % 4 for i in popular}) < 4


def test_known_items_of_a_user_push_the_next_question_away(topical):
    X, text = topical
    rec = PopularityRecommender().fit(X)
    pool = pd.DataFrame({"user": 0, "item": [f"i{i}" for i in range(40)]})  # user 0: topic 0
    sampler = TextCoverageSampler(
        item_text=text, model=session_model(), popularity_weight=0.0, random_state=0
    )
    first = pool["item"].to_numpy()[sampler(rec, pool, n_instances=1)][0]
    assert int(first[1:]) % 4 != 0  # far from what the user already told us
