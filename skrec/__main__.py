"""Command line: ``python -m skrec demo`` (also installed as ``skrec demo``)."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skrec", description="scikit-recommend command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="fit the recommenders on a small data set and print a metric table",
        description=(
            "Fit every skrec recommender on MovieLens-100K (when a local copy is found in "
            "--data-home or $SKREC_DATA) or on synthetic data, evaluate them on a held-out "
            "fold, and print NDCG@10, Recall@20 and fit time."
        ),
    )
    demo.add_argument(
        "--dataset",
        choices=["auto", "movielens", "synthetic"],
        default="auto",
        help="auto: MovieLens-100K when available locally (or downloadable), else synthetic",
    )
    demo.add_argument(
        "--data-home",
        default=None,
        help="where data sets live (default: $SKREC_DATA or ~/skrec_data)",
    )
    demo.add_argument(
        "--quick", action="store_true", help="smaller models and data, for a fast look"
    )
    demo.add_argument(
        "--no-download", action="store_true", help="never download; use synthetic data instead"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from skrec._demo import run_demo

        return run_demo(
            dataset=args.dataset,
            data_home=args.data_home,
            quick=args.quick,
            download=not args.no_download,
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
