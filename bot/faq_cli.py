"""`python -m bot.faq`: the content editors' command line (CONTRACT.md section 1).

    python -m bot.faq validate [--lang it|en] [DIR]
    python -m bot.faq search [--data DIR] [--lang it|en] [--limit N] QUERY
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.corpus import LANGS
from bot.faq import CorpusError, FaqIndex, validate_directory


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.faq", description="FAQ corpus tools")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="check a FAQ folder against the schema")
    check.add_argument("--lang", choices=LANGS, default="it", help="language of the problems")
    check.add_argument("directory", nargs="?", default="faq_data")
    find = commands.add_parser("search", help="show the best matches for a question")
    find.add_argument("--data", default="faq_data")
    find.add_argument("--lang", choices=LANGS, default="it")
    find.add_argument("--limit", type=int, default=5)
    find.add_argument("query", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "validate":
        problems = validate_directory(Path(args.directory))
        for problem in problems:
            print(problem.line(args.lang))
        if not problems:
            print(f"{args.directory}: ok")
        return 1 if problems else 0

    try:
        index = FaqIndex.from_directory(args.data)
    except CorpusError as exc:
        print(exc, file=sys.stderr)
        return 1
    query = " ".join(args.query)
    decision = index.decide(query, lang=args.lang, limit=args.limit)
    print(f"band {decision.band}, confidence {decision.confidence:.2f}")
    if not decision.matches:
        print("no FAQ is relevant enough (the assistant would offer a ticket)")
    for match in decision.matches:
        faq = index.get(match.id)
        question = faq.question_in(args.lang) if faq else ""
        print(f"{match.score:5.1f}  {match.id}  {question}")
    return 0
