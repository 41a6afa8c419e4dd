"""Command line: ``python -m skrec demo`` (also installed as ``skrec demo``)."""

from __future__ import annotations

import argparse
import sys

from skrec._version import __version__

EXAMPLES = """\
examples:
  skrec demo
      MovieLens-100K when a local copy is found ($SKREC_DATA/ml-100k or
      ~/skrec_data/ml-100k), otherwise synthetic data; never downloads
  skrec demo --quick
      smaller models and data: a first look in about a minute
  skrec demo --dataset movielens --download
      MovieLens-100K, downloaded from GroupLens (5 MB, checksummed) when no
      local copy is found
  skrec demo --dataset synthetic
      synthetic data only, offline
  skrec demo --data-home ~/datasets
      look for ~/datasets/ml-100k instead

exit status:
  0 the demo ran; 1 the data could not be loaded (the reason is printed on one
  line); 2 the command line is wrong
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skrec",
        description="scikit-recommend command line: recommender systems as scikit-learn "
        "estimators.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"skrec {__version__} (scikit-recommend)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    demo = sub.add_parser(
        "demo",
        help="fit the recommenders on a small data set and print a metric table",
        description=(
            "Fit every skrec recommender on MovieLens-100K (when a local copy is found in "
            "--data-home or $SKREC_DATA, or downloaded with --download) or on synthetic "
            "data, evaluate them on a held-out fold, print NDCG@10, Recall@20 and fit time, "
            "then run a short active-learning loop. Parts whose optional dependencies are "
            "missing are skipped with the install command."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--dataset",
        choices=["auto", "movielens", "synthetic"],
        default="auto",
        help="auto (default): MovieLens-100K when a local copy is found (or --download is "
        "given), else synthetic; movielens: MovieLens-100K or an error; synthetic: offline "
        "synthetic data",
    )
    demo.add_argument(
        "--data-home",
        default=None,
        help="where data sets live (default: $SKREC_DATA or ~/skrec_data)",
    )
    demo.add_argument(
        "--quick", action="store_true", help="smaller models and data, for a fast look"
    )
    fetch = demo.add_mutually_exclusive_group()
    fetch.add_argument(
        "--download",
        dest="download",
        action="store_true",
        help="download MovieLens-100K when no local copy is found (with a progress bar)",
    )
    fetch.add_argument(
        "--no-download",
        dest="download",
        action="store_false",
        help="never download (the default)",
    )
    demo.set_defaults(download=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from skrec._demo import DemoError, run_demo

        try:
            return run_demo(
                dataset=args.dataset,
                data_home=args.data_home,
                quick=args.quick,
                download=args.download,
            )
        except DemoError as exc:
            print(f"skrec demo: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("skrec demo: interrupted", file=sys.stderr)
            return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
