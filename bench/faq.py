"""FAQ search quality and speed (issue: foundation, part 4).

Quality on the labelled DEV set of shared/faq-eval (hit@1, hit@3, abstention), next to the plain
baselines of its README computed in the same run; speed on a corpus of 2,000 FAQs next to plain
rapidfuzz `process.extract` with WRatio over the same strings.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rapidfuzz import fuzz, process

from bot import text
from bot.corpus import Corpus, Faq, load_corpus, load_synonyms
from bot.faq import GENERAL_SYNONYMS, FaqIndex

OWN = Path(__file__).resolve().parent.parent
# shared/ sits beside the repository, or further up for a git worktree (wt/NAME beside main).
DEV = next(
    (p / "shared" for p in OWN.parents if (p / "shared").is_dir()), OWN.parent / "shared"
) / "faq-eval" / "dev"

Engine = Callable[[str, str], list[str]]  # (query, lang) -> up to 3 FAQ ids, [] = abstain


@dataclass(frozen=True)
class Query:
    q: str
    lang: str
    gold: str | None
    kind: str


@dataclass
class Score:
    n: int = 0
    hit1: int = 0
    hit3: int = 0  # abstention counts as a miss
    hit3_any: int = 0  # ignoring the threshold: the ranking alone
    oos: int = 0
    abstained: int = 0

    def row(self) -> dict[str, float]:
        return {
            "hit@1": self.hit1 / self.n if self.n else math.nan,
            "hit@3": self.hit3 / self.n if self.n else math.nan,
            "hit@3 no thr": self.hit3_any / self.n if self.n else math.nan,
            "abstain": self.abstained / self.oos if self.oos else math.nan,
        }


@dataclass
class Report:
    total: Score = field(default_factory=Score)
    by_kind: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    by_lang: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))

    @property
    def summary(self) -> float:
        row = self.total.row()
        return (row["hit@3"] + row["abstain"]) / 2


def load_queries(path: Path = DEV / "queries.jsonl") -> list[Query]:
    return [Query(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def evaluate(engine: Engine, ranking: Engine, queries: Sequence[Query]) -> Report:
    """`engine` answers with its threshold; `ranking` without (for hit@3 ignoring abstention)."""
    report = Report()
    for query in queries:
        ids = engine(query.q, query.lang)[:3]
        scores = (report.total, report.by_kind[query.kind], report.by_lang[query.lang])
        for score in scores:
            if query.gold is None:
                score.oos += 1
                score.abstained += not ids
            else:
                score.n += 1
                score.hit1 += bool(ids) and ids[0] == query.gold
                score.hit3 += query.gold in ids
        if query.gold is not None and query.gold in ranking(query.q, query.lang)[:3]:
            for score in scores:
                score.hit3_any += 1
    return report


# --- the plain baselines of shared/faq-eval/README.md ---------------------------------------


def _question_strings(faq: Faq, lang: str) -> list[str]:
    return [faq.question_in(lang), *faq.variants.get(lang, ()), *faq.variants.get("it", ())]


Scored = Callable[[str, str], list[tuple[str, float]]]  # best first, with scores


def fuzz_baseline(corpus: Corpus, scorer: Callable[..., float]) -> Scored:
    def rank(query: str, lang: str) -> list[tuple[str, float]]:
        best = {
            faq.id: max(scorer(query.lower(), c.lower()) for c in _question_strings(faq, lang))
            for faq in corpus.faqs
        }
        return sorted(best.items(), key=lambda kv: -kv[1])[:3]

    return rank


def bm25_baseline(corpus: Corpus) -> Scored:
    docs = {}
    for faq in corpus.faqs:
        words = " ".join(
            [*_question_strings(faq, "it"), *_question_strings(faq, "en"), *faq.keywords]
        )
        docs[faq.id] = Counter(text.words(words))
    n = len(docs)
    df: Counter[str] = Counter(t for d in docs.values() for t in d)
    avg = sum(sum(d.values()) for d in docs.values()) / n

    def rank(query: str, _lang: str) -> list[tuple[str, float]]:
        out: dict[str, float] = {}
        for fid, d in docs.items():
            length = sum(d.values())
            s = 0.0
            for t in text.words(query):
                if t in d:
                    idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                    s += idf * d[t] * 2.2 / (d[t] + 1.2 * (0.25 + 0.75 * length / avg))
            if s:
                out[fid] = s
        return sorted(out.items(), key=lambda kv: -kv[1])[:3]

    return rank


def tuned(rank: Scored, queries: Sequence[Query]) -> tuple[Engine, Engine]:
    """A baseline with the threshold that maximises (hit@3 + abstain) / 2 on these very
    queries, as shared/faq-eval/README.md computed its reference figures."""
    answers = {(q.q, q.lang): rank(q.q, q.lang) for q in queries}

    def with_threshold(threshold: float) -> Engine:
        return lambda q, lang: [i for i, s in answers[(q, lang)] if s >= threshold]

    candidates = sorted({s for ranked in answers.values() for _, s in ranked[:1]})
    best = max(
        candidates, key=lambda t: evaluate(with_threshold(t), with_threshold(0), queries).summary
    )
    return with_threshold(best), with_threshold(0)


# --- speed ------------------------------------------------------------------------------------


def big_corpus(corpus: Corpus, size: int = 2000) -> Corpus:
    """`size` FAQs made from the real ones, each copy with its own id and a distinguishing word
    so that the index is as large as a big faculty's, not 50 times the same document."""
    faqs = []
    for n in range(size):
        base = corpus.faqs[n % len(corpus.faqs)]
        tag = f" sede{n // len(corpus.faqs)}"
        faqs.append(
            Faq(
                id=f"{base.id}-{n}",
                topic=base.topic,
                subtopic=base.subtopic,
                question={k: v + tag for k, v in base.question.items()},
                answer=base.answer,
                variants=base.variants,
                keywords=base.keywords,
                links=base.links,
                source=base.source,
            )
        )
    return Corpus(corpus.topics, tuple(faqs))


def timing(queries: Sequence[Query], corpus: Corpus) -> list[tuple[str, str]]:
    started = time.perf_counter()
    index = FaqIndex(corpus)
    build = time.perf_counter() - started

    def per_query(fn: Callable[[str, str], object]) -> list[float]:
        out = []
        for query in queries:
            t0 = time.perf_counter()
            fn(query.q, query.lang)
            out.append(time.perf_counter() - t0)
        return out

    strings = [s for faq in corpus.faqs for s in _question_strings(faq, "it")]
    ours = per_query(lambda q, lang: index.search(q, lang=lang))
    plain = per_query(lambda q, _lang: process.extract(q, strings, scorer=fuzz.WRatio, limit=3))
    ms = 1000
    return [
        ("faq index build, 2,000 FAQs", f"{build * ms:.0f} ms"),
        (
            "faq query median / p99 (ours)",
            f"{statistics.median(ours) * ms:.2f} / {_p99(ours) * ms:.2f} ms",
        ),
        (
            "faq query median / p99 (rapidfuzz WRatio extract)",
            f"{statistics.median(plain) * ms:.2f} / {_p99(plain) * ms:.2f} ms",
        ),
        (
            "faq query median ratio ours / plain",
            f"{statistics.median(ours) / statistics.median(plain):.2f}",
        ),
    ]


def _p99(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def ours(index: FaqIndex) -> tuple[Engine, Engine]:
    def thr(q: str, lang: str) -> list[str]:
        return [m.id for m in index.search(q, lang=lang)]

    def rank(q: str, lang: str) -> list[str]:
        return [m.id for m in index.search_ranked(q, lang=lang)]

    return thr, rank


def quality(
    corpus_dir: Path = DEV / "corpus",
    queries_file: Path = DEV / "queries.jsonl",
    variants: int | None = None,
) -> dict[str, Report]:
    """`variants`: keep at most that many variants per language, to score a corpus shaped
    like DEV (under two per FAQ) with queries that were never tuned on."""
    corpus = load_corpus(corpus_dir)
    if variants is not None:
        corpus = Corpus(corpus.topics, tuple(_fewer_variants(f, variants) for f in corpus.faqs))
    queries = load_queries(queries_file)
    # Loaded as an outside evaluation does (FaqIndex.from_directory): the corpus folder alone,
    # with the engine's own general synonyms and whatever synonyms.json the folder has.
    index = FaqIndex(corpus, [*GENERAL_SYNONYMS, *load_synonyms(corpus_dir)])
    engines = {
        "ours": ours(index),
        "rapidfuzz WRatio (tuned thr)": tuned(fuzz_baseline(corpus, fuzz.WRatio), queries),
        "rapidfuzz token_set (tuned thr)": tuned(
            fuzz_baseline(corpus, fuzz.token_set_ratio), queries
        ),
        "BM25 (tuned thr)": tuned(bm25_baseline(corpus), queries),
    }
    return {name: evaluate(engine, ranking, queries) for name, (engine, ranking) in engines.items()}


def print_quality(reports: dict[str, Report]) -> None:
    print(f"{'engine':28} {'hit@1':>6} {'hit@3':>6} {'h@3 nothr':>9} {'abstain':>7} {'summary':>7}")
    for name, report in reports.items():
        r = report.total.row()
        print(
            f"{name:28} {r['hit@1']:6.3f} {r['hit@3']:6.3f} {r['hit@3 no thr']:9.3f} "
            f"{r['abstain']:7.3f} {report.summary:7.3f}"
        )
    print("\nours, per kind and language:")
    ours_report = reports["ours"]
    for label, table in (("kind", ours_report.by_kind), ("lang", ours_report.by_lang)):
        for key, score in sorted(table.items()):
            r = score.row()
            print(
                f"  {label} {key:12} n={score.n + score.oos:3} hit@1 {r['hit@1']:.3f} hit@3 "
                f"{r['hit@3']:.3f} nothr {r['hit@3 no thr']:.3f} abstain {r['abstain']:.3f}"
            )


def run() -> list[tuple[str, str]]:
    print("DEV set of shared/faq-eval (tuned on):")
    reports = quality()
    print_quality(reports)
    # Queries on our own corpus, written by someone who had not seen the engine, and never
    # tuned on: a check that what DEV taught generalises.
    print("\nheld-out queries on faq_data (bench/own_queries.jsonl, never tuned on):")
    held_out = quality(OWN / "faq_data", OWN / "bench" / "own_queries.jsonl")
    print_quality(held_out)
    print("\nthe same, with our FAQs cut to one variant per language, closer to DEV's shape:")
    thin = quality(OWN / "faq_data", OWN / "bench" / "own_queries.jsonl", variants=1)
    print_quality(thin)
    corpus = load_corpus(DEV / "corpus")
    return [
        *(
            (f"faq {label}: hit@1 / hit@3 / abstain (BM25 hit@3 / abstain)", _figures(r))
            for label, r in (
                ("DEV", reports),
                ("held-out", held_out),
                ("held-out, 1 variant", thin),
            )
        ),
        *timing(load_queries(), big_corpus(corpus)),
    ]


def _fewer_variants(faq: Faq, keep: int) -> Faq:
    return replace(faq, variants={lang: v[:keep] for lang, v in faq.variants.items()})


def _figures(reports: dict[str, Report]) -> str:
    ours, bm25 = reports["ours"].total.row(), reports["BM25 (tuned thr)"].total.row()
    return (
        f"{ours['hit@1']:.3f} / {ours['hit@3']:.3f} / {ours['abstain']:.3f} "
        f"({bm25['hit@3']:.3f} / {bm25['abstain']:.3f})"
    )


if __name__ == "__main__":
    for name, value in run():
        print(f"{name:50} {value}")
