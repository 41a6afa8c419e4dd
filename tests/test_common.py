"""scikit-learn's estimator checks over every skrec recommender.

A recommender's X is an interaction table (user id, item id[, timestamp]) and
its y is feedback strength, not a class label. The checks below cannot apply to
that contract; every other check must pass.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skrec import ALSRecommender, EASERecommender, PopularityRecommender, TransformerRecommender

WIDE_X = (
    "feeds X with more than 3 columns; an interaction table has 2 or 3 (user, item[, timestamp])"
)
CLASS_LABELS = (
    "treats y as class labels; skrec's y is feedback strength (>0 positive, <=0 negative)"
)
FEATURES = (
    "expects continuous features to predict from; X columns are ids, "
    "so unseen rows fall back to popularity"
)

EXPECTED_FAILED = {
    "check_n_features_in_after_fitting": WIDE_X,
    "check_estimators_dtypes": WIDE_X,
    "check_dtype_object": WIDE_X,
    "check_fit2d_1sample": WIDE_X,
    "check_positive_only_tag_during_fit": WIDE_X,
    "check_classifiers_classes": CLASS_LABELS + " (string labels)",
    "check_classifiers_regression_target": CLASS_LABELS + " (continuous y is valid feedback)",
    "check_classifiers_train": FEATURES,
}

ESTIMATORS = [
    ALSRecommender(factors=4, iterations=3, random_state=0),
    EASERecommender(l2=10.0),
    PopularityRecommender(),
    TransformerRecommender(embedding_dim=8, n_heads=1, max_epochs=2, random_state=0),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_compatible(estimator, check):
    check(estimator)
