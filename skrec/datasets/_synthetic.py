"""Synthetic interaction data with latent clusters, popularity, order and item text.

Everything is vectorised: one pass draws an item for every row, duplicates are
removed with one sort of 64-bit (user, item) keys, and the few rows lost to
duplicates are drawn again (only those) until the requested count is reached
exactly. Twenty million interactions take seconds and a few GB.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

from skrec.utils._sklearn_compat import Interval, validate_params

__all__ = ["make_interactions"]

# Topic vocabularies: cluster c draws its item text from _THEMES[c]; clusters past
# the last theme get generated words. Real words give sentence encoders a signal.
_THEMES = [
    "football goal stadium league striker referee penalty tournament coach match "
    "championship dribble jersey trophy midfield",
    "recipe oven garlic pasta baking flour spice kitchen roast sauce dough simmer "
    "herbs skillet dessert",
    "galaxy rocket orbit astronaut planet telescope nebula comet satellite lunar "
    "cosmos gravity asteroid spacecraft stellar",
    "guitar melody drums chorus concert album vocals rhythm piano symphony lyrics "
    "band jazz acoustic harmony",
    "garden tulip compost seedling orchard pruning soil greenhouse blossom shrub "
    "watering hedge perennial harvest fern",
    "stocks dividend portfolio investor bond mortgage inflation budget savings "
    "interest broker equity pension tax ledger",
    "passport luggage airport itinerary hostel voyage island backpack cruise tourist "
    "souvenir visa journey resort excursion",
    "dress fabric denim couture runway silk tailor sneakers handbag wardrobe velvet "
    "stitching boutique scarf leather",
    "software laptop processor database algorithm network server keyboard robotics "
    "encryption cloud compiler circuit pixel firmware",
    "empire dynasty medieval castle pharaoh revolution archive manuscript knight "
    "monarchy ancient crusade treaty chronicle relic",
    "ocean coral whale reef tide shark dolphin lagoon seaweed harbor sailor kelp "
    "plankton current lighthouse",
    "workout yoga treadmill protein stretching marathon dumbbell cardio pilates "
    "endurance squat sprint hydration trainer muscle",
    "canvas watercolor sketch easel portrait sculpture gallery brushstroke mural "
    "charcoal palette pastel fresco etching studio",
    "engine tire motorcycle gearbox sedan highway brakes turbo garage racing "
    "exhaust chassis mileage convertible piston",
    "puppy kitten leash aquarium hamster veterinarian parrot collar grooming kennel "
    "litter terrier feeder rabbit paws",
    "glacier thunder rainforest volcano canyon meadow blizzard waterfall desert "
    "tornado prairie monsoon avalanche tundra drizzle",
]
_GENERIC = (
    "classic new edition collection deluxe original premium essential vintage modern "
    "complete series volume special limited ultimate simple practical popular official "
    "illustrated guide companion set basic advanced handbook revised annual select"
).split()
_SYLLABLES = (
    "zor vak tul mip quen dro fex gli sna brum kel wox jat plo rix nud syl thax yev cru"
).split()
_N_TOPIC_WORDS = 3
_N_GENERIC_WORDS = 2
_EPOCH = 1_500_000_000  # first timestamps land in mid-2017
_MEAN_GAP = 86_400  # mean seconds between two interactions of one user
_MAX_ID_BITS = 54  # user and item bits; leaves 8 bits of sequence order in a sort key


@validate_params(
    {
        "n_users": [Interval(Integral, 1, None, closed="left")],
        "n_items": [Interval(Integral, 1, None, closed="left")],
        "n_interactions": [Interval(Integral, 1, None, closed="left")],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "popularity_skew": [Interval(Real, 0, None, closed="left")],
        "negative_fraction": [Interval(Real, 0, 1, closed="left")],
        "cold_items": [Interval(Integral, 0, None, closed="left")],
        "noise": [Interval(Real, 0, 1, closed="both")],
        "sequential": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_interactions(
    n_users: int = 1000,
    n_items: int = 500,
    n_interactions: int = 20000,
    *,
    n_clusters: int = 8,
    popularity_skew: float = 1.0,
    negative_fraction: float = 0.0,
    cold_items: int = 0,
    noise: float = 0.1,
    sequential: bool = True,
    random_state=None,
) -> Bunch:
    """Generate interactions with latent clusters, popularity skew, order and item text.

    Users and items belong to ``n_clusters`` latent clusters. A user's positive
    interactions are drawn from the items of its cluster, except a fraction
    ``noise`` drawn from the whole catalogue. Within a cluster, item popularity
    follows a Zipf law of exponent ``popularity_skew``; user activity is
    log-normal, and every user gets at least one interaction when
    ``n_interactions >= n_users``. Explicit negatives (``y = 0``) are items from
    other clusters. Each item has a text made of words of its cluster's topic
    vocabulary and generic words, so a text model can recover the clusters.

    The result has exactly ``n_interactions`` rows and no duplicate (user, item)
    pair.

    Parameters
    ----------
    n_users : int, default=1000
        Number of users; ids ``0 .. n_users - 1``.
    n_items : int, default=500
        Number of items that can receive interactions; ids ``0 .. n_items - 1``.
    n_interactions : int, default=20000
        Number of rows, at most ``n_users * n_items``.
    n_clusters : int, default=8
        Number of latent clusters; items are split evenly. When it exceeds
        ``n_items``, ``n_items`` clusters (one item each) are used.
    popularity_skew : float, default=1.0
        Zipf exponent of item popularity within a cluster; 0 is uniform.
    negative_fraction : float, default=0.0
        Fraction of rows (rounded) that are explicit negatives, in [0, 1).
    cold_items : int, default=0
        Extra items (ids ``n_items .. n_items + cold_items - 1``) with a cluster
        and a text but no interaction: cold-start items.
    noise : float, default=0.1
        Probability that a positive interaction ignores the user's cluster and
        is drawn from the popularity of the whole catalogue.
    sequential : bool, default=True
        Give the data a sequential signal: items have a position within their
        cluster and each user's interactions follow that order (with jitter),
        so the next item is predictable from the previous ones. With False,
        each user's interactions come in random order.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields:

        X : pandas.DataFrame of shape (n_interactions, 3)
            Columns ``user``, ``item``, ``timestamp`` (int64; timestamps are
            Unix seconds, strictly increasing within a user). Rows are sorted
            by user, then time.
        y : ndarray of shape (n_interactions,), dtype float64
            1.0 for positive interactions, 0.0 for explicit negatives.
        item_text : pandas.Series of shape (n_items + cold_items,)
            Text of every item, indexed by item id.
        user_cluster : ndarray of shape (n_users,)
            Latent cluster of each user, indexed by user id.
        item_cluster : ndarray of shape (n_items + cold_items,)
            Latent cluster of each item, indexed by item id.
        cold_items : ndarray of shape (cold_items,)
            Ids of the items without interactions by construction.
        DESCR : str
            Description of the generator and its parameters.

    See Also
    --------
    load_movielens : Real ratings with item text.
    load_sequences : Real item sequences.

    Examples
    --------
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=50, n_items=30, n_interactions=500,
    ...                          n_clusters=3, cold_items=2, random_state=0)
    >>> data.X.shape, data.y.shape
    ((500, 3), (500,))
    >>> list(data.X.columns)
    ['user', 'item', 'timestamp']
    >>> len(data.item_text), int(data.X["item"].max()) < 30
    (32, True)
    """
    n_clusters = min(int(n_clusters), n_items)  # every cluster needs an item
    if n_interactions > n_users * n_items:
        raise ValueError(
            f"n_interactions={n_interactions} exceeds n_users * n_items = "
            f"{n_users * n_items}: there are not enough distinct (user, item) pairs."
        )
    if _bits(n_users) + _bits(n_items) > _MAX_ID_BITS:
        raise ValueError(
            f"n_users * n_items = {n_users * n_items:.3g} is too large: (user, item) pairs "
            f"must fit in {_MAX_ID_BITS} bits."
        )
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=4)
    rng = np.random.default_rng(seed)

    catalogue = _Catalogue(n_items, n_clusters, popularity_skew, rng)
    user_cluster = rng.integers(n_clusters, size=n_users)
    pos_count, neg_count = _counts(n_users, n_items, n_interactions, negative_fraction, rng)
    sampler = _PairSampler(catalogue, user_cluster, noise, rng)
    keys = sampler.sample(pos_count, neg_count)

    users, items, negative, timestamps = _order_in_time(
        keys, n_users, n_items, catalogue.stage, sequential, rng
    )
    del keys

    n_total = n_items + cold_items
    cold_cluster = rng.permutation(np.arange(cold_items) % n_clusters)
    item_cluster = np.concatenate([catalogue.cluster, cold_cluster])
    item_text = pd.Series(
        _item_texts(item_cluster, rng), index=pd.RangeIndex(n_total, name="item"), name="item_text"
    )
    X = pd.DataFrame({"user": users, "item": items, "timestamp": timestamps})
    y = np.where(negative, 0.0, 1.0)
    descr = (
        "Synthetic interactions (skrec.datasets.make_interactions)\n\n"
        f"{len(X):,} rows ({int(negative.sum()):,} explicit negatives) of {n_users:,} users "
        f"and {n_items:,} items (+ {cold_items:,} cold items without interactions) in "
        f"{n_clusters} latent clusters; popularity_skew={popularity_skew}, noise={noise}, "
        f"sequential={sequential}.\n"
        "Positive items come from the user's cluster (else, with probability noise, from "
        "the whole catalogue) with Zipf popularity; negatives (y = 0) from other clusters. "
        "Item text: topic words of the item's cluster plus generic words.\n"
    )
    return Bunch(
        X=X,
        y=y,
        item_text=item_text,
        user_cluster=user_cluster,
        item_cluster=item_cluster,
        cold_items=np.arange(n_items, n_total),
        DESCR=descr,
    )


class _Catalogue:
    """Items grouped by cluster, with popularity ranks and sequence stages.

    ``by_cluster`` lists item ids cluster after cluster, most popular first
    within a cluster; ``start[c]:start[c] + size[c]`` is cluster ``c``'s slice.
    """

    def __init__(self, n_items: int, n_clusters: int, skew: float, rng) -> None:
        self.n_items = n_items
        self.n_clusters = n_clusters
        self.skew = float(skew)
        self.cluster = rng.permutation(np.arange(n_items) % n_clusters)
        # random order within each cluster = popularity rank
        self.by_cluster = np.argsort(self.cluster + rng.random(n_items), kind="stable")
        self.size = np.bincount(self.cluster, minlength=n_clusters)
        self.start = np.cumsum(self.size) - self.size
        # stage: a second random order within the cluster, scaled to [0, 1)
        stage_order = np.argsort(self.cluster + rng.random(n_items), kind="stable")
        rank = np.arange(n_items) - self.start[self.cluster[stage_order]]
        self.stage = np.empty(n_items)
        self.stage[stage_order] = rank / self.size[self.cluster[stage_order]]

    def popular_in(self, clusters: np.ndarray, rng) -> np.ndarray:
        """Zipf-like rank within each row's cluster, by inverting a power-law CDF.

        The rank is the floor of a continuous power law on [1, size + 1) of
        exponent ``skew`` (a truncated continuous Zipf): O(1) per draw.
        """
        if self.skew == 0.0:
            return self.uniform_in(clusters, rng)
        a = 1.0 - self.skew
        m1 = self.size + 1.0
        x = rng.random(clusters.size)
        if abs(a) < 1e-9:  # skew 1: x = m1 ** u
            x *= np.log(m1)[clusters]
            np.exp(x, out=x)
        else:  # x = (1 + u * (m1 ** a - 1)) ** (1 / a)
            x *= (np.power(m1, a) - 1.0)[clusters]
            x += 1.0
            np.power(x, 1.0 / a, out=x)
        rank = x.astype(np.int64)
        del x
        rank -= 1
        np.clip(rank, 0, (self.size - 1)[clusters], out=rank)
        rank += self.start[clusters]
        return self.by_cluster[rank]

    def uniform_in(self, clusters: np.ndarray, rng) -> np.ndarray:
        offset = (rng.random(clusters.size) * self.size[clusters]).astype(np.int64)
        return self.by_cluster[self.start[clusters] + offset]

    def popular_any(self, n: int, rng) -> np.ndarray:
        # the cluster of a uniformly drawn item: clusters weighted by size
        return self.popular_in(self.cluster[rng.integers(self.n_items, size=n)], rng)

    def uniform_any(self, n: int, rng) -> np.ndarray:
        return rng.integers(self.n_items, size=n)


def _counts(n_users, n_items, n_interactions, negative_fraction, rng):
    """Rows per user (log-normal activity, capped) split into positives and negatives."""
    activity = rng.lognormal(0.0, 1.0, size=n_users)
    # Keeping users below half the catalogue keeps rejection sampling fast; the
    # hard cap n_items is used only when the requested density needs it.
    cap = max(1, n_items // 2)
    if n_interactions > n_users * cap:
        cap = n_items
    if n_interactions >= n_users:
        counts = 1 + _spread(n_interactions - n_users, activity, cap - 1, rng)
    else:
        counts = _spread(n_interactions, activity, cap, rng)
    n_negative = int(round(negative_fraction * n_interactions))
    if n_negative:
        neg = rng.multivariate_hypergeometric(counts, n_negative, method="marginals")
    else:
        neg = np.zeros(n_users, dtype=np.int64)
    return counts - neg, neg


def _spread(total: int, weights: np.ndarray, cap: int, rng) -> np.ndarray:
    """Multinomial split of ``total`` by ``weights`` with no count above ``cap``."""
    counts = (
        rng.multinomial(total, weights / weights.sum())
        if total
        else np.zeros(weights.size, dtype=np.int64)
    )
    while True:
        excess = int(np.maximum(counts - cap, 0).sum())
        if not excess:
            return counts.astype(np.int64)
        np.minimum(counts, cap, out=counts)
        room = np.where(counts < cap, weights, 0.0)
        counts += rng.multinomial(excess, room / room.sum())


class _PairSampler:
    """Draws distinct (user, item) pairs; a key is ``(user * n_items + item) * 2 + negative``."""

    def __init__(self, catalogue: _Catalogue, user_cluster, noise: float, rng) -> None:
        self.cat = catalogue
        self.user_cluster = user_cluster
        self.noise = noise
        self.rng = rng
        self.n_users = user_cluster.size

    def sample(self, pos_count: np.ndarray, neg_count: np.ndarray) -> np.ndarray:
        keys = self._draw(pos_count, neg_count, "popular")
        # sort + compare neighbours: much faster than np.unique's hash path here.
        # A pair drawn twice (also as positive and negative) keeps its first
        # key, the positive one since its flag bit is 0.
        keys.sort()
        pairs = keys >> 1
        keep = np.empty(keys.size, dtype=bool)
        keep[0] = True
        np.not_equal(pairs[1:], pairs[:-1], out=keep[1:])
        del pairs
        keys = keys[keep]
        del keep
        pos_missing = pos_count - self._per_user(keys, 0)
        neg_missing = neg_count - self._per_user(keys, 1)
        extra = np.empty(0, dtype=np.int64)
        for attempt in range(1, 40):
            if not (pos_missing.any() or neg_missing.any()):
                break
            # popularity first; uniform later, when popular items are used up
            mode = "popular" if attempt < 6 else "uniform" if attempt < 12 else "any"
            new = self._draw(pos_missing, neg_missing, mode)
            new_pairs = new >> 1
            fresh = np.flatnonzero(~_contains(keys, new_pairs) & ~_contains(extra, new_pairs))
            _, first = np.unique(new_pairs[fresh], return_index=True)
            accepted = new[fresh[first]]
            extra = np.sort(np.concatenate([extra, accepted]))
            pos_missing -= self._per_user(accepted, 0)
            neg_missing -= self._per_user(accepted, 1)
        if pos_missing.any() or neg_missing.any():
            extra = np.sort(np.concatenate([extra, self._fill(keys, extra, pos_missing, 0)]))
            extra = np.sort(np.concatenate([extra, self._fill(keys, extra, neg_missing, 1)]))
        return np.concatenate([keys, extra]) if extra.size else keys

    def _per_user(self, keys: np.ndarray, flag: int) -> np.ndarray:
        users = (keys[(keys & 1) == flag] >> 1) // self.cat.n_items
        return np.bincount(users, minlength=self.n_users)

    def _draw(self, pos_count, neg_count, mode: str) -> np.ndarray:
        rng, cat = self.rng, self.cat
        users = np.repeat(np.arange(self.n_users, dtype=np.int64), pos_count)
        clusters = self.user_cluster[users]
        if mode == "any":
            items = cat.uniform_any(users.size, rng)
        else:
            items = (cat.popular_in if mode == "popular" else cat.uniform_in)(clusters, rng)
            off = np.flatnonzero(rng.random(users.size) < self.noise)
            if off.size:
                any_ = cat.popular_any if mode == "popular" else cat.uniform_any
                items[off] = any_(off.size, rng)
        del clusters
        pos_keys = (users * cat.n_items + items) << 1
        del users, items
        if not neg_count.any():
            return pos_keys
        users = np.repeat(np.arange(self.n_users, dtype=np.int64), neg_count)
        if mode == "any" or cat.n_clusters == 1:
            items = cat.uniform_any(users.size, rng)
        else:
            shift = rng.integers(1, cat.n_clusters, size=users.size)
            other = (self.user_cluster[users] + shift) % cat.n_clusters
            items = (cat.popular_in if mode == "popular" else cat.uniform_in)(other, rng)
        neg_keys = ((users * cat.n_items + items) << 1) | 1
        return np.concatenate([pos_keys, neg_keys])

    def _fill(self, keys, extra, missing: np.ndarray, flag: int) -> np.ndarray:
        """Exact top-up for the rare users that random draws could not complete."""
        cat, rng = self.cat, self.rng
        out = []
        all_items = np.arange(cat.n_items)
        for user in np.flatnonzero(missing):
            lo, hi = (user * cat.n_items) << 1, ((user + 1) * cat.n_items) << 1
            used = np.concatenate(
                [
                    keys[np.searchsorted(keys, lo) : np.searchsorted(keys, hi)],
                    extra[np.searchsorted(extra, lo) : np.searchsorted(extra, hi)],
                ]
            )
            free = np.setdiff1d(all_items, (used >> 1) % cat.n_items)
            own = cat.cluster[free] == self.user_cluster[user]
            preferred = own if flag == 0 else ~own
            free = np.concatenate(
                [rng.permutation(free[preferred]), rng.permutation(free[~preferred])]
            )
            chosen = free[: missing[user]]
            out.append(((user * cat.n_items + chosen) << 1) | flag)
            missing[user] -= chosen.size
        return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def _contains(sorted_keys: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Whether each pair has a key (either flag) in ``sorted_keys``."""
    if sorted_keys.size == 0:
        return np.zeros(pairs.size, dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_keys, pairs << 1), sorted_keys.size - 1)
    return (sorted_keys[idx] >> 1) == pairs


def _order_in_time(keys, n_users, n_items, stage, sequential, rng):
    """Decode pair keys into rows sorted by user, then sequence order, with timestamps.

    Returns ``users, items, negative, timestamps``; timestamps strictly increase
    within a user.
    """
    pairs = keys >> 1
    items = pairs % n_items
    users = pairs // n_items
    del pairs
    if sequential:
        order_key = stage[items] + rng.normal(0.0, 0.1, size=items.size)
    else:
        order_key = rng.random(items.size)
    lo, hi = order_key.min(), order_key.max()
    order_key -= lo
    order_key *= 1.0 / (hi - lo) if hi > lo else 0.0  # now in [0, 1]
    # pack (user, order, item, flag) in one int64: one plain sort does it all
    user_bits, item_bits = _bits(n_users), _bits(n_items)
    order_bits = min(24, 62 - user_bits - item_bits)  # >= 8 by _MAX_ID_BITS
    q = (order_key * ((1 << order_bits) - 1)).astype(np.int64)
    del order_key
    packed = users << (order_bits + item_bits + 1)
    packed |= q << (item_bits + 1)
    del q
    packed |= items << 1
    packed |= keys & 1
    del users, items
    packed.sort()
    negative = (packed & 1).astype(bool)
    items = (packed >> 1) & ((1 << item_bits) - 1)
    users = packed >> (order_bits + item_bits + 1)
    del packed
    gaps = 1 + rng.exponential(_MEAN_GAP, size=users.size).astype(np.int64)
    elapsed = np.cumsum(gaps)
    counts = np.bincount(users, minlength=n_users)
    first = np.cumsum(counts) - counts
    active = counts > 0
    base = elapsed[first[active]] - gaps[first[active]]
    del gaps
    start = _EPOCH + rng.integers(0, 365 * _MEAN_GAP, size=n_users)
    elapsed += np.repeat(start[active] - base, counts[active])
    return users, items, negative, elapsed


def _bits(n: int) -> int:
    """Bits needed for ids 0 .. n - 1."""
    return max(1, int(n - 1).bit_length())


def _topic_words(cluster: int) -> list[str]:
    if cluster < len(_THEMES):
        return _THEMES[cluster].split()
    n_words = len(_THEMES[0].split())
    return [_made_up_word((cluster - len(_THEMES)) * n_words + j) for j in range(n_words)]


def _made_up_word(index: int) -> str:
    """A distinct pronounceable non-word for each index (at least three syllables)."""
    base = len(_SYLLABLES)
    parts = []
    for _ in range(3):
        index, digit = divmod(index, base)
        parts.append(_SYLLABLES[digit])
    while index:
        index, digit = divmod(index - 1, base)
        parts.append(_SYLLABLES[digit])
    return "".join(parts)


def _item_texts(item_cluster: np.ndarray, rng) -> list[str]:
    n = item_cluster.size
    if n == 0:
        return []
    vocab = np.array([_topic_words(c) for c in range(int(item_cluster.max()) + 1)])
    topic = np.argsort(rng.random((n, vocab.shape[1])), axis=1)[:, :_N_TOPIC_WORDS]
    generic = np.argsort(rng.random((n, len(_GENERIC))), axis=1)[:, :_N_GENERIC_WORDS]
    words = np.concatenate(
        [vocab[item_cluster[:, None], topic], np.asarray(_GENERIC)[generic]], axis=1
    )
    return [" ".join(row) for row in words.tolist()]
