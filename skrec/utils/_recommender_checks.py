"""The recommender checks of the conformance suite (see :mod:`skrec.utils.estimator_checks`).

Each check has scikit-learn's signature ``check(name, estimator)``: it takes an
unfitted recommender, fits clones of it on a small synthetic data set of its
own, and raises :class:`AssertionError` naming the rule that was broken.
Before fitting, the checks give ``random_state=0`` to an estimator that has a
``random_state`` of None, and the data's item texts to one that has an
``item_text`` of None (as scikit-learn's checks set ``random_state``).

Scores are compared with a tolerance (``rtol=1e-5``, ``atol=1e-6``): a model
may compute one pair's score (``decision_function``) and a block of scores
(``recommend``) with different float32 kernels. Items whose scores tie within
that tolerance may come in either order; exactly equal scores must come in
candidate order.
"""

from __future__ import annotations

import copy
import pickle
from typing import NoReturn

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch

__all__ = ["RECOMMENDER_CHECKS"]

_RTOL, _ATOL = 1e-5, 1e-6
_N = 8


def _fail(name: str, message: str) -> NoReturn:
    raise AssertionError(f"{name}: {message}")


def _data() -> Bunch:
    """Small clustered interactions: string users, int items, timestamps, negatives."""
    from skrec.datasets import make_interactions  # noqa: PLC0415 (cheap module import)

    d = make_interactions(
        n_users=30,
        n_items=24,
        n_interactions=320,
        n_clusters=3,
        negative_fraction=0.1,
        cold_items=2,
        random_state=0,
    )
    X = d.X.copy()
    X["user"] = "u" + X["user"].astype(str)
    X["user"] = X["user"].astype(object)
    held = (np.arange(len(X)) % 5 == 0) & (d.y > 0)
    return Bunch(
        X=X[~held].reset_index(drop=True),
        y=d.y[~held],
        X_test=X[held].reset_index(drop=True),
        item_text=dict(d.item_text),
    )


def _prepared(estimator, data: Bunch, **params):
    """A clone of ``estimator`` with the checks' defaults and ``params`` set."""
    est = clone(estimator)
    given = est.get_params(deep=False)
    defaults = {}
    if "random_state" in given and given["random_state"] is None:
        defaults["random_state"] = 0
    if "item_text" in given and given["item_text"] is None:
        defaults["item_text"] = data.item_text
    return est.set_params(**{**defaults, **params})


def _fit(estimator, data: Bunch, **params):
    return _prepared(estimator, data, **params).fit(data.X, data.y)


def _seen(data: Bunch) -> dict:
    """Items of each user in the training rows (positives and explicit negatives)."""
    return data.X.groupby("user")["item"].agg(set).to_dict()


def _users(rec, k: int = 10) -> np.ndarray:
    return np.asarray(rec.users_[:k])


def _close(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    both_inf = np.isinf(a) & np.isinf(b) & (np.sign(a) == np.sign(b))
    with np.errstate(invalid="ignore"):
        return both_inf | (np.abs(a - b) <= _ATOL + _RTOL * np.abs(b))


def _pairs(user, items) -> pd.DataFrame:
    return pd.DataFrame({"user": [user] * len(items), "item": list(items)})


def _same_recommendations(name: str, a, b, what: str) -> None:
    ids_a, scores_a = a
    ids_b, scores_b = b
    if np.shape(ids_a) != np.shape(ids_b):
        _fail(name, f"{what}: recommend shapes differ, {np.shape(ids_a)} vs {np.shape(ids_b)}")
    if not _close(scores_a, scores_b).all():
        _fail(name, f"{what}: recommend returned different scores")
    untied = ~_near_tie_mask(np.asarray(scores_b, dtype=np.float64))
    if not (np.asarray(ids_a) == np.asarray(ids_b))[untied].all():
        _fail(name, f"{what}: recommend returned different items")


def _near_tie_mask(scores: np.ndarray) -> np.ndarray:
    """Positions whose score is within tolerance of a neighbour's in the same row."""
    tie = np.zeros(scores.shape, dtype=bool)
    if scores.shape[1] > 1:
        close = _close(scores[:, 1:], scores[:, :-1])
        tie[:, 1:] |= close
        tie[:, :-1] |= close
    return tie


# ----------------------------------------------------------------------- checks
def check_recommender_fit_attributes(name, estimator):
    """``fit`` returns self and sets ``users_``, ``items_``, ``interactions_``, ``classes_``."""
    data = _data()
    est = _prepared(estimator, data)
    if est.fit(data.X, data.y) is not est:
        _fail(name, "fit must return self")
    missing = [
        a for a in ("users_", "items_", "interactions_", "calibration_") if not hasattr(est, a)
    ]
    if missing:
        _fail(name, f"fitted estimator lacks {missing}")
    if not set(data.X["user"]) <= set(est.users_) or not set(data.X["item"]) <= set(est.items_):
        _fail(name, "users_ / items_ must contain every user and item of X")
    if est.interactions_.shape != (len(est.users_), len(est.items_)):
        _fail(name, f"interactions_ has shape {est.interactions_.shape}")
    if list(est.classes_) != [0, 1]:
        _fail(name, f"classes_ must be [0, 1], got {list(est.classes_)}")
    ids, scores = est.recommend(_users(est, 3), n=4)
    if np.shape(ids) != (3, 4) or np.shape(scores) != (3, 4):
        _fail(name, f"recommend(3 users, n=4) returned shapes {np.shape(ids)}, {np.shape(scores)}")
    kinds = {type(v) for v in np.ravel(ids)}
    if not kinds <= {type(v) for v in est.items_}:
        _fail(name, f"recommend returned ids of types {kinds}, not those of items_")
    if not np.isin(np.ravel(ids).astype(object), np.asarray(est.items_, dtype=object)).all():
        _fail(name, "recommend returned ids that are not in items_")


def check_recommender_ranking_matches_decision_function(name, estimator):
    """``recommend`` is the brute-force top-n of ``decision_function``, seen items excluded."""
    data = _data()
    est = _fit(estimator, data)
    seen = _seen(data)
    users = _users(est)
    ids, scores = est.recommend(users, n=_N)
    items = np.asarray(est.items_)
    for row, user in enumerate(users):
        d = est.decision_function(_pairs(user, items))
        excluded = np.isin(items.astype(object), list(seen.get(user, ())))
        d[excluded] = -np.inf
        order = np.argsort(-d, kind="stable")[:_N]  # ties in items_ order
        expected_scores = d[order]
        if not _close(scores[row], expected_scores).all():
            _fail(
                name,
                f"recommend scores for user {user!r} are not the top-{_N} decision_function "
                f"scores of the unseen items: {np.round(scores[row], 4).tolist()} vs "
                f"{np.round(expected_scores, 4).tolist()}",
            )
        got = d[pd.Index(items).get_indexer(ids[row])]
        if not _close(got, scores[row]).all():
            _fail(
                name,
                f"recommend scores for user {user!r} differ from decision_function of the "
                "same (user, item) pairs",
            )
        if np.any(np.diff(np.asarray(scores[row], dtype=np.float64)) > _ATOL):
            _fail(name, f"recommend scores for user {user!r} are not in decreasing order")


def check_recommender_ties_in_candidate_order(name, estimator):
    """Exactly equal scores rank in candidate order, also at the top-n boundary."""
    data = _data()
    est = _fit(estimator, data)
    items = np.asarray(est.items_)
    for cand in (None, items[::-1]):
        order = items if cand is None else cand
        position = pd.Index(order)
        ids, scores = est.recommend(_users(est), n=_N, items=cand)
        for row, user in enumerate(_users(est)):
            pos = position.get_indexer(ids[row])
            equal = scores[row][1:] == scores[row][:-1]
            if (np.isfinite(scores[row][1:]) & equal & (pos[1:] < pos[:-1])).any():
                _fail(
                    name,
                    f"equal scores for user {user!r} are not in candidate order "
                    f"({'items_' if cand is None else 'items='}): ties must keep the "
                    "candidates' order",
                )
            # The boundary: among candidates tied with the last one shown, the first win.
            last = scores[row][-1]
            if not np.isfinite(last):
                continue
            d = est.decision_function(_pairs(user, order))
            d[np.isin(order.astype(object), list(_seen(data).get(user, ())))] = -np.inf
            tied = np.flatnonzero(d == last)
            shown = pos[scores[row] == last]
            if len(tied) > len(shown) and set(shown) != set(tied[: len(shown)]):
                _fail(
                    name,
                    f"user {user!r}: of the {len(tied)} candidates tied at the last place "
                    f"shown, recommend kept positions {sorted(shown)} instead of the first "
                    f"{len(shown)} in candidate order",
                )


def check_recommender_blocks_agree(name, estimator):
    """Users ranked together, alone, or with other ``n_jobs``, get the same lists."""
    data = _data()
    est = _fit(estimator, data)
    users = np.asarray(est.users_)
    together = est.recommend(users, n=_N)
    alone = [est.recommend(users[k : k + 1], n=_N) for k in range(len(users))]
    alone = (np.vstack([a[0] for a in alone]), np.vstack([a[1] for a in alone]))
    _same_recommendations(name, alone, together, "one user at a time vs all users at once")
    if "n_jobs" in est.get_params(deep=False):
        for n_jobs in (1, 2):
            other = clone(est).set_params(n_jobs=n_jobs).fit(data.X, data.y)
            _same_recommendations(
                name, other.recommend(users, n=_N), together, f"n_jobs={n_jobs} vs n_jobs=None"
            )


def check_recommender_exclude_seen(name, estimator):
    """``exclude_seen`` leaves out the training items (negatives too), or keeps everything."""
    data = _data()
    est = _fit(estimator, data)
    seen = _seen(data)
    users = _users(est)
    n_items = len(est.items_)
    ids, scores = est.recommend(users, n=n_items)
    for row, user in enumerate(users):
        shown = {i for i, s in zip(ids[row], scores[row], strict=True) if s > -np.inf}
        if shown & seen.get(user, set()):
            _fail(
                name,
                f"exclude_seen=True recommended items user {user!r} interacted with in fit: "
                f"{sorted(shown & seen[user])[:5]}",
            )
        if len(shown) != n_items - len(seen.get(user, ())):
            _fail(
                name,
                f"with exclude_seen=True and n = every item, user {user!r} got {len(shown)} "
                f"finite-score items; expected every unseen item "
                f"({n_items - len(seen.get(user, ()))}) and -inf in the remaining slots",
            )
    ids, scores = est.recommend(users, n=n_items, exclude_seen=False)
    if not all(set(row) == set(est.items_) for row in ids) or not np.isfinite(scores).all():
        _fail(name, "exclude_seen=False with n = every item must rank every item, all finite")


def check_recommender_candidate_items(name, estimator):
    """``items=`` ranks exactly the candidates, as the full ranking orders them."""
    data = _data()
    est = _fit(estimator, data)
    users = _users(est, 5)
    cand = np.asarray(est.items_)[::3]
    ids, scores = est.recommend(users, n=len(cand), items=cand, exclude_seen=False)
    if ids.shape != (len(users), len(cand)):
        _fail(name, f"recommend(items=<{len(cand)} ids>) returned shape {ids.shape}")
    for row, user in enumerate(users):
        if set(ids[row]) != set(cand):
            _fail(name, f"items= was not honoured for user {user!r}: other items came back")
        d = est.decision_function(_pairs(user, ids[row]))
        if not _close(d, scores[row]).all():
            _fail(name, f"recommend(items=...) scores differ from decision_function ({user!r})")
    n = min(3, len(cand))
    capped, _ = est.recommend(users, n=n + 100, items=cand[:n])
    if capped.shape[1] != n:
        _fail(name, f"n larger than the candidates must give {n} columns, got {capped.shape[1]}")


def check_recommender_handle_unknown(name, estimator):
    """Unknown users get the popularity fallback; unknown items rank as unseen-by-anyone."""
    data = _data()
    est = _fit(estimator, data, handle_unknown="popular")
    ids, scores = est.recommend(["<nobody-1>", "<nobody-2>"], n=_N)
    if not (ids[0] == ids[1]).all() or not np.isfinite(scores).all():
        _fail(name, "two unknown users must get the same (popularity) recommendations")
    pop = np.asarray(est.item_popularity_)[pd.Index(est.items_).get_indexer(ids[0])]
    if np.any(np.diff(pop) > 0):
        _fail(name, "an unknown user's recommendations must follow item popularity")
    known = _users(est, 1)[0]
    rows = pd.DataFrame(
        {"user": ["<nobody>", known, "<nobody>"], "item": [est.items_[0], "<no-item>", "<no-item>"]}
    )
    for method in ("decision_function", "predict_proba", "predict", "score_samples"):
        out = getattr(est, method)(rows)
        if len(out) != 3 or not np.isfinite(np.asarray(out, dtype=np.float64)).all():
            _fail(name, f"{method} must give finite values for unknown users and items")
    if np.abs(est.embed_items(["<no-item>"])).sum() != 0:
        _fail(name, "embed_items must give a row of zeros for an unknown item")
    ids, _ = est.recommend([known], n=len(est.items_) + 1, items=[*est.items_, "<no-item>"])
    if "<no-item>" not in list(ids[0]):
        _fail(name, "an unknown candidate in items= must still be ranked")


def check_recommender_handle_unknown_error(name, estimator):
    """With ``handle_unknown="error"``, unknown users and items raise a ValueError."""
    data = _data()
    est = _fit(estimator, data, handle_unknown="error")
    known_user, known_item = _users(est, 1)[0], est.items_[0]
    calls = {
        "recommend(unknown user)": lambda: est.recommend(["<nobody>"]),
        "recommend(items=[unknown])": lambda: est.recommend([known_user], items=["<no-item>"]),
        "decision_function(unknown user)": lambda: est.decision_function(
            _pairs("<nobody>", [known_item])
        ),
        "predict_proba(unknown item)": lambda: est.predict_proba(_pairs(known_user, ["<no-item>"])),
        "embed_items(unknown item)": lambda: est.embed_items(["<no-item>"]),
    }
    _expect_raises(name, calls, ValueError, "with handle_unknown='error'")


def check_recommender_predict_agrees_with_decision_function(name, estimator):
    """``predict == (decision_function > 0)``; ``predict_proba[:, 1]`` is its sigmoid."""
    data = _data()
    est = _fit(estimator, data)
    rows = pd.concat(
        [
            data.X_test[["user", "item"]],
            data.X[["user", "item"]].iloc[::3],
            _pairs("<nobody>", est.items_[:5]),
        ],
        ignore_index=True,
    )
    d = est.decision_function(rows)
    proba = est.predict_proba(rows)
    pred = est.predict(rows)
    if proba.shape != (len(rows), 2) or not np.allclose(proba.sum(axis=1), 1.0):
        _fail(name, "predict_proba must be (n, 2) with rows summing to 1")
    if not ((proba >= 0) & (proba <= 1)).all():
        _fail(name, "predict_proba must lie in [0, 1]")
    disagree = pred != (d > 0).astype(int)
    if disagree.any():
        _fail(
            name,
            f"predict disagrees with decision_function > 0 on {int(disagree.sum())} of "
            f"{len(rows)} rows (scikit-learn's binary-classifier rule)",
        )
    order = np.argsort(d, kind="stable")
    if np.any(np.diff(proba[order, 1]) < -1e-12):
        _fail(name, "predict_proba[:, 1] must be non-decreasing in decision_function")
    if not np.allclose(proba[:, 1], 1.0 / (1.0 + np.exp(-d)), atol=1e-9):
        _fail(name, "predict_proba[:, 1] must be the sigmoid of decision_function")


def check_recommender_pickle_roundtrip(name, estimator):
    """A pickled and unpickled recommender recommends and scores as the original."""
    data = _data()
    est = _fit(estimator, data)
    users = np.asarray(est.users_)
    before = est.recommend(users, n=_N)
    rows = data.X_test[["user", "item"]]
    again = pickle.loads(pickle.dumps(est))
    _same_recommendations(name, again.recommend(users, n=_N), before, "after pickling")
    if not _close(again.decision_function(rows), est.decision_function(rows)).all():
        _fail(name, "decision_function changed after pickling")


def check_recommender_clone_refit(name, estimator):
    """``clone`` keeps the parameters, and a refitted clone reproduces ``recommend``."""
    data = _data()
    est = _fit(estimator, data)
    twin = clone(est)
    if hasattr(twin, "users_") or hasattr(twin, "calibration_"):
        _fail(name, "clone() must give an unfitted estimator")
    if repr(twin.get_params(deep=False)) != repr(est.get_params(deep=False)):
        _fail(name, "clone() changed the parameters")
    users = np.asarray(est.users_)
    _same_recommendations(
        name,
        twin.fit(data.X, data.y).recommend(users, n=_N),
        est.recommend(users, n=_N),
        "a refitted clone",
    )


def check_recommender_random_state(name, estimator):
    """Same ``random_state``, same output; a different one changes it (a seed is never ignored)."""
    if "random_state" not in estimator.get_params(deep=False):
        return
    data = _data()
    est = _fit(estimator, data, random_state=0)
    users = np.asarray(est.users_)
    rows = data.X_test[["user", "item"]]
    first = est.recommend(users, n=_N)
    again = _fit(estimator, data, random_state=0)
    ids, scores = again.recommend(users, n=_N)
    if not (np.array_equal(ids, first[0]) and np.allclose(scores, first[1], rtol=1e-7, atol=0)):
        _fail(
            name,
            "random_state=0 twice gave different recommendations: some randomness does not "
            "come from random_state (global numpy/torch state?)",
        )
    if not np.allclose(again.decision_function(rows), est.decision_function(rows), rtol=1e-7):
        _fail(name, "random_state=0 twice gave different decision_function values")
    other = _fit(estimator, data, random_state=12345)
    if np.array_equal(other.decision_function(rows), est.decision_function(rows)):
        _fail(
            name,
            "random_state=0 and random_state=12345 gave identical decision_function values: "
            "the seed is ignored; drop the parameter if the model is deterministic",
        )


def check_recommender_does_not_mutate_input(name, estimator):
    """``fit``, ``recommend`` and the scoring methods leave their inputs unchanged."""
    data = _data()
    X, y = data.X.copy(), data.y.copy()
    weight = np.full(len(X), 2.0)
    snapshot = [copy.deepcopy(v) for v in (X, y, weight)]
    est = _prepared(estimator, data).fit(X, y, sample_weight=weight)
    users = np.asarray(est.users_[:5]).copy()
    cand = np.asarray(est.items_[:6]).copy()
    rows = data.X_test[["user", "item"]].copy()
    inputs = [copy.deepcopy(v) for v in (users, cand, rows)]
    est.recommend(users, n=3, items=cand)
    for method in ("decision_function", "predict_proba", "predict", "score_samples"):
        getattr(est, method)(rows)
    est.score(rows)
    after = [X, y, weight, users, cand, rows]
    labels = ["X", "y", "sample_weight", "recommend's users", "recommend's items", "predict's X"]
    for before, now, label in zip(snapshot + inputs, after, labels, strict=True):
        same = (
            before.equals(now) if isinstance(before, pd.DataFrame) else np.array_equal(before, now)
        )
        if not same:
            _fail(name, f"modified its input {label}; it must work on copies")


def check_recommender_score_is_ndcg(name, estimator):
    """``score`` equals :func:`skrec.metrics.ndcg_at_k` of ``recommend`` on the same rows."""
    from skrec.metrics import make_ranking_scorer, ndcg_at_k  # noqa: PLC0415

    data = _data()
    est = _fit(estimator, data)
    test = data.X_test
    users = pd.unique(test["user"])
    truth = test.groupby("user")["item"].agg(list)
    ids, scores = est.recommend(users, n=10, exclude_seen=True)
    y_pred = [[i for i, s in zip(r, sc, strict=True) if s > -np.inf] for r, sc in zip(ids, scores)]
    expected = ndcg_at_k([truth[u] for u in users], y_pred, k=10)
    got = est.score(test)
    if not np.isclose(got, expected, rtol=1e-12, atol=1e-12):
        _fail(name, f"score() = {got!r} but ndcg_at_k of recommend on the same rows = {expected!r}")
    scorer = make_ranking_scorer("ndcg", k=10)(est, test)
    if not np.isclose(scorer, expected, rtol=1e-12, atol=1e-12):
        _fail(name, f"make_ranking_scorer('ndcg', k=10) gave {scorer!r}, not {expected!r}")


def check_recommender_sample_weight(name, estimator):
    """Unit weights change nothing; integer weights equal repeated (summed) rows."""
    data = _data()
    est = _prepared(estimator, data)
    if "sample_weight" not in _fit_parameters(est):
        _fail(name, "fit must take sample_weight=None (DESIGN §3)")
    plain = clone(est).fit(data.X, data.y)
    users = np.asarray(plain.users_)
    ones = clone(est).fit(data.X, data.y, sample_weight=np.ones(len(data.X)))
    _same_recommendations(
        name, ones.recommend(users, n=_N), plain.recommend(users, n=_N), "sample_weight=1"
    )
    counts = 1 + np.arange(len(data.X)) % 3
    weighted = clone(est).fit(data.X, data.y, sample_weight=counts)
    rows = np.repeat(np.arange(len(data.X)), counts)
    repeated = clone(est).fit(data.X.iloc[rows].reset_index(drop=True), data.y[rows])
    _same_recommendations(
        name,
        weighted.recommend(users, n=_N),
        repeated.recommend(users, n=_N),
        "integer sample_weight vs the rows repeated that many times",
    )
    try:
        clone(est).fit(data.X, data.y, sample_weight=-np.ones(len(data.X)))
    except ValueError:
        pass
    else:
        _fail(name, "negative sample_weight must raise a ValueError")


def check_recommender_explicit_negatives(name, estimator):
    """A rejected item (``y <= 0``) is excluded from that user's list and is not a positive."""
    data = _data()
    user = data.X["user"].iloc[0]
    mine = set(data.X.loc[data.X["user"] == user, "item"])
    item = next(i for i in data.X["item"] if i not in mine)  # a new item, rejected
    X = pd.concat([data.X[["user", "item"]], _pairs(user, [item])], ignore_index=True)
    y = np.r_[data.y, 0.0]
    est = _prepared(estimator, data).fit(X, y)
    ids, scores = est.recommend([user], n=len(est.items_))
    if item in {i for i, s in zip(ids[0], scores[0], strict=True) if s > -np.inf}:
        _fail(name, f"item {item!r} that user {user!r} rejected (y=0) was recommended to them")


def check_recommender_users_without_positives(name, estimator):
    """A known user with only explicit negatives is ranked like an unknown user, minus them."""
    data = _data()
    refused = list(data.X["item"].iloc[:2])
    X = pd.concat([data.X[["user", "item"]], _pairs("<said-no>", refused)], ignore_index=True)
    est = _prepared(estimator, data).fit(X, np.r_[data.y, 0.0, 0.0])
    n = len(est.items_)
    ids, scores = est.recommend(["<said-no>", "<nobody>"], n=n)
    expected = [i for i in ids[1] if i not in refused]
    if list(ids[0][: n - 2]) != expected or not np.isneginf(scores[0][n - 2 :]).all():
        _fail(
            name,
            "a user whose only interactions are explicit negatives must get the popularity "
            "ranking of an unknown user without the refused items (a model alone has no "
            "preference signal for them)",
        )


def check_recommender_bad_input(name, estimator):
    """Bad ``X`` or ``y`` raises a ValueError or TypeError naming the problem."""
    data = _data()
    X, y = data.X[["user", "item"]], data.y
    cases = {
        "NaN in y": (X, np.r_[np.nan, y[1:]]),
        "inf in y": (X, np.r_[np.inf, y[1:]]),
        "y of the wrong length": (X, y[:-1]),
        "an empty X": (X.iloc[:0], None),
        "a one-column X": (X[["user"]], None),
        "a missing user id": (pd.DataFrame({"user": [None, "u1"], "item": [1, 2]}), None),
    }
    for what, (X_bad, y_bad) in cases.items():
        try:
            _prepared(estimator, data).fit(X_bad, y_bad)
        except (ValueError, TypeError):
            continue
        except Exception as exc:  # noqa: BLE001
            _fail(name, f"fit with {what} raised {type(exc).__name__} ({exc}), not ValueError")
        _fail(name, f"fit with {what} must raise a ValueError or TypeError")


def check_recommender_unfitted(name, estimator):
    """Every method that needs a fitted model raises ``NotFittedError`` before ``fit``."""
    est = clone(estimator)
    calls = {
        "recommend": lambda: est.recommend(["u0"]),
        "decision_function": lambda: est.decision_function([["u0", 1]]),
        "score_samples": lambda: est.score_samples([["u0", 1]]),
        "predict_proba": lambda: est.predict_proba([["u0", 1]]),
        "embed_items": lambda: est.embed_items([1]),
    }
    _expect_raises(name, calls, NotFittedError, "before fit")


def check_recommender_embed_items(name, estimator):
    """``embed_items`` gives one finite row per item, of a fixed width."""
    data = _data()
    est = _fit(estimator, data)
    E = est.embed_items(est.items_[:5])
    F = est.embed_items(est.items_[2:4])
    if E.ndim != 2 or E.shape[0] != 5 or F.shape[1] != E.shape[1]:
        _fail(name, f"embed_items returned shapes {E.shape} and {F.shape}")
    if not np.isfinite(E).all() or not np.allclose(E[2:4], F):
        _fail(name, "embed_items rows must be finite and not depend on the other ids asked")


def _expect_raises(name: str, calls: dict, expected: type, when: str) -> None:
    """Each of ``calls`` must raise ``expected`` (and nothing else)."""
    for what, call in calls.items():
        try:
            call()
        except expected:
            continue
        except Exception as exc:  # noqa: BLE001
            _fail(
                name, f"{what} {when} raised {type(exc).__name__} ({exc}), not {expected.__name__}"
            )
        _fail(name, f"{what} {when} must raise {expected.__name__}")


def _fit_parameters(est) -> set[str]:
    import inspect  # noqa: PLC0415

    return set(inspect.signature(est.fit).parameters)


#: The recommender checks, in the order the suite runs them.
RECOMMENDER_CHECKS = (
    check_recommender_unfitted,
    check_recommender_fit_attributes,
    check_recommender_ranking_matches_decision_function,
    check_recommender_ties_in_candidate_order,
    check_recommender_blocks_agree,
    check_recommender_exclude_seen,
    check_recommender_candidate_items,
    check_recommender_handle_unknown,
    check_recommender_handle_unknown_error,
    check_recommender_predict_agrees_with_decision_function,
    check_recommender_pickle_roundtrip,
    check_recommender_clone_refit,
    check_recommender_random_state,
    check_recommender_does_not_mutate_input,
    check_recommender_score_is_ndcg,
    check_recommender_sample_weight,
    check_recommender_explicit_negatives,
    check_recommender_users_without_positives,
    check_recommender_bad_input,
    check_recommender_embed_items,
)
