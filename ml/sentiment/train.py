"""Train the three-class sentiment model (negative, neutral, positive); SageMaker script mode.

Review data sets have no neutral class, so they train only the per-language polarity experts,
and the neutral gate learns from the project's service desk corpus (see ml.sentiment.model for
the design). Channels:

- corpus: the service desk corpus TSV (text, label, language); defaults to the shipped corpus.
- nsmc: NSMC ratings file(s) (id, document, label), optional.
- english: UCI sentiment labelled sentence file(s) (sentence, label), optional.

Each channel is a file or a folder of `*.txt`/`*.tsv` files. With only the corpus the model
trains in seconds; with the full NSMC file and Korean morphemes it takes a few minutes on 2 cores.
By default 20 % of each review file is held out (stratified, fixed seed) and its metrics go to
metadata.json; `--holdout 0` trains on everything.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from ml.common import artifacts
from ml.sentiment.data import (
    CORPUS_PATH,
    LabelledTexts,
    default_english_files,
    default_nsmc_file,
    holdout_split,
    read_corpus,
    read_nsmc,
    read_sentences,
)
from ml.sentiment.features import FeatureSet, MorphemeTokenizer, NgramBlock, detect_language, morphemes_available
from ml.sentiment.model import NeutralGate, PolarityExpert, SentimentModel

MODEL_NAME = "sentiment"
MODEL_FILE = "model.joblib"


@dataclass
class Hyperparameters:
    """Settings of one training run."""

    korean_c: float = 4.0
    english_c: float = 30.0
    gate_c: float = 10.0
    # Share of a polarity expert's total sample weight given to the service desk corpus rows.
    domain_share: float = 0.05
    # Review sentences added to the neutral gate as opinionated text, and their total weight
    # as a multiple of the corpus's opinionated rows.
    gate_reviews: int = 2000
    gate_review_weight: float = 0.5
    morphemes: bool = True
    seed: int = 0


@dataclass
class TrainingData:
    """Training parts of the corpus and the review files."""

    corpus: LabelledTexts
    korean_reviews: list[LabelledTexts]
    english_reviews: list[LabelledTexts]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _korean_features(morphemes: bool) -> FeatureSet:
    blocks = [NgramBlock("char", (1, 5))]
    if morphemes:
        blocks.append(NgramBlock("word", (1, 3), source="morphemes"))
        return FeatureSet(blocks, MorphemeTokenizer(num_workers=2))
    blocks.append(NgramBlock("word", (1, 2)))
    return FeatureSet(blocks)


def _english_features() -> FeatureSet:
    return FeatureSet([NgramBlock("char", (1, 5)), NgramBlock("word", (1, 3), source="negation")])


def _gate_features() -> FeatureSet:
    return FeatureSet([NgramBlock("char_wb", (1, 4), n_features=2**19), NgramBlock("word", (1, 2), n_features=2**19)])


def _expert_rows(
    corpus_texts: list[str], corpus_labels: np.ndarray, reviews: list[LabelledTexts], domain_share: float
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Join review rows and corpus rows, giving the corpus `domain_share` of the total weight.

    A corpus row never weighs less than a review row, so with few reviews the share is larger.
    """
    review_texts = [text for data in reviews for text in data.texts]
    review_labels = np.concatenate([data.labels for data in reviews]) if reviews else np.asarray([], dtype=str)
    corpus_weight = 1.0
    if review_texts and corpus_texts:
        corpus_weight = max(1.0, domain_share * len(review_texts) / ((1 - domain_share) * len(corpus_texts)))
    texts = review_texts + corpus_texts
    negative = np.concatenate([review_labels, corpus_labels]) == "negative"
    weights = np.concatenate([np.ones(len(review_texts)), np.full(len(corpus_texts), corpus_weight)])
    return texts, negative, weights


def fit_model(data: TrainingData, hyper: Hyperparameters) -> SentimentModel:
    """Fit the neutral gate and both polarity experts on the training parts."""
    corpus = data.corpus
    languages = np.asarray([detect_language(text) for text in corpus.texts])
    opinionated = corpus.labels != "neutral"
    corpus_texts = np.asarray(corpus.texts, dtype=object)

    experts = {}
    for name, routed, reviews, features, c_value in (
        ("korean", ("ko", "mixed", "unknown"), data.korean_reviews, _korean_features(hyper.morphemes), hyper.korean_c),
        ("english", ("en", "mixed", "unknown"), data.english_reviews, _english_features(), hyper.english_c),
    ):
        chosen = opinionated & np.isin(languages, routed)
        texts, negative, weights = _expert_rows(
            list(corpus_texts[chosen]), corpus.labels[chosen], reviews, hyper.domain_share
        )
        if negative.all() or not negative.any():
            raise ValueError(f"the {name} polarity expert needs both negative and positive examples")
        started = time.perf_counter()
        experts[name] = PolarityExpert(features, c_value).fit(texts, negative, weights)
        _log(f"trained {name} polarity expert on {len(texts)} texts in {time.perf_counter() - started:.1f} s")

    gate_texts = list(corpus.texts)
    gate_neutral = corpus.labels == "neutral"
    gate_weights = np.ones(len(gate_texts))
    review_pool = [text for group in (data.korean_reviews, data.english_reviews) for item in group for text in item.texts]
    if review_pool and hyper.gate_reviews > 0:
        rng = np.random.default_rng(hyper.seed)
        sample = rng.choice(len(review_pool), size=min(hyper.gate_reviews, len(review_pool)), replace=False)
        gate_texts += [review_pool[i] for i in sample]
        gate_neutral = np.concatenate([gate_neutral, np.zeros(len(sample), dtype=bool)])
        review_weight = hyper.gate_review_weight * opinionated.sum() / len(sample)
        gate_weights = np.concatenate([gate_weights, np.full(len(sample), review_weight)])
    # Balance neutral against opinionated weight so the gate's prior is 0.5 before the text.
    neutral_total = gate_weights[gate_neutral].sum()
    opinionated_total = gate_weights[~gate_neutral].sum()
    gate_weights[gate_neutral] *= opinionated_total / neutral_total
    gate = NeutralGate(_gate_features(), hyper.gate_c).fit(gate_texts, gate_neutral, gate_weights)

    return SentimentModel(korean=experts["korean"], english=experts["english"], gate=gate)


def _channel_files(value: str | None, patterns: tuple[str, ...]) -> list[Path]:
    if not value:
        return []
    path = Path(value)
    if path.is_dir():
        return sorted(file for pattern in patterns for file in path.glob(pattern))
    if not path.is_file():
        raise FileNotFoundError(f"training input not found: {path}; pass an existing file or folder")
    return [path]


def load_training_files(
    corpus_files: list[Path], nsmc_files: list[Path], english_files: list[Path], holdout: float, max_nsmc_rows: int = 0
) -> tuple[TrainingData, dict[str, LabelledTexts]]:
    """Read all files and split each review file; return the training data and held-out parts by name."""
    corpora = [read_corpus(path) for path in corpus_files or [CORPUS_PATH]]
    corpus = LabelledTexts(
        "corpus", [text for item in corpora for text in item.texts], np.concatenate([item.labels for item in corpora])
    )
    held_out: dict[str, LabelledTexts] = {}
    korean, english = [], []
    for path in nsmc_files:
        data = read_nsmc(path)
        train, test = holdout_split(data, holdout)
        if max_nsmc_rows and len(train) > max_nsmc_rows:
            keep = np.random.default_rng(0).choice(len(train), size=max_nsmc_rows, replace=False)
            train = train.subset(np.sort(keep))
        korean.append(train)
        held_out[f"nsmc/{path.name}"] = test
    for path in english_files:
        train, test = holdout_split(read_sentences(path), holdout)
        english.append(train)
        held_out[f"english/{path.name}"] = test
    return TrainingData(corpus, korean, english), held_out


def save_model(model: SentimentModel, model_dir: Path, *, fingerprint: str, metrics: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Write model.joblib and metadata.json; return the metadata."""
    model_dir.mkdir(parents=True, exist_ok=True)
    version = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + fingerprint[:8]
    joblib.dump({"model": model, "version": version}, model_dir / MODEL_FILE, compress=3)
    return artifacts.write_metadata(
        model_dir, name=MODEL_NAME, version=version, metrics=metrics, data_fingerprint=fingerprint, **fields
    )


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the training arguments to `parser` (a new one when None) and return it."""
    parser = parser or argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Hyperparameters()
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"), help="output folder of the model artifact")
    parser.add_argument(
        "--corpus", default=os.environ.get("SM_CHANNEL_CORPUS"), help="service desk corpus TSV file or folder (default: shipped corpus)"
    )
    parser.add_argument(
        "--nsmc", default=os.environ.get("SM_CHANNEL_NSMC"), help="NSMC ratings file or folder (default: the public data set, if present)"
    )
    parser.add_argument(
        "--english",
        nargs="*",
        default=None,
        help="UCI sentiment labelled sentence files or a folder (default: env SM_CHANNEL_ENGLISH or the public data set, if present)",
    )
    parser.add_argument("--no-public-data", action="store_true", help="train on the corpus only, ignoring the default public files")
    parser.add_argument("--holdout", type=float, default=0.2, help="fraction of each review file held out for metrics (0 trains on all)")
    parser.add_argument("--max-nsmc-rows", type=int, default=0, help="subsample the NSMC training part to this many rows (0: all)")
    parser.add_argument("--korean-c", type=float, default=defaults.korean_c, help="inverse L2 strength of the Korean expert")
    parser.add_argument("--english-c", type=float, default=defaults.english_c, help="inverse L2 strength of the English expert")
    parser.add_argument("--gate-c", type=float, default=defaults.gate_c, help="inverse L2 strength of the neutral gate")
    parser.add_argument("--domain-share", type=float, default=defaults.domain_share, help="share of expert weight given to corpus rows")
    parser.add_argument(
        "--morphemes", choices=("auto", "on", "off"), default="auto", help="Korean morpheme features with kiwipiepy (auto: when installed)"
    )
    return parser


def resolve_inputs(args: argparse.Namespace) -> tuple[list[Path], list[Path], list[Path]]:
    """Return the corpus, NSMC and English files chosen by the arguments, channels and defaults."""
    corpus_files = _channel_files(args.corpus, ("*.tsv",))
    nsmc_files = _channel_files(args.nsmc, ("*.txt", "*.tsv"))
    english_files = [file for value in args.english or [] for file in _channel_files(value, ("*.txt",))]
    if args.english is None and os.environ.get("SM_CHANNEL_ENGLISH"):
        english_files = _channel_files(os.environ["SM_CHANNEL_ENGLISH"], ("*.txt",))
    if not args.no_public_data:
        if args.nsmc is None:
            nsmc_files = [path for path in [default_nsmc_file()] if path]
        if args.english is None and not english_files:
            english_files = default_english_files()
    return corpus_files, nsmc_files, english_files


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train from parsed arguments, write the artifact and return its metadata."""
    from ml.sentiment.evaluate import score_held_out

    if args.morphemes == "on" and not morphemes_available():
        raise ValueError("--morphemes on needs kiwipiepy; install the ml extra or pass --morphemes off")
    hyper = Hyperparameters(
        korean_c=args.korean_c,
        english_c=args.english_c,
        gate_c=args.gate_c,
        domain_share=args.domain_share,
        morphemes=args.morphemes == "on" or (args.morphemes == "auto" and morphemes_available()),
    )
    corpus_files, nsmc_files, english_files = resolve_inputs(args)
    model_dir = Path(args.model_dir) if args.model_dir else artifacts.model_dir(MODEL_NAME)

    started = time.perf_counter()
    data, held_out = load_training_files(corpus_files, nsmc_files, english_files, args.holdout, args.max_nsmc_rows)
    _log(f"training on {len(data.corpus)} corpus rows, {sum(map(len, data.korean_reviews))} Korean and "
         f"{sum(map(len, data.english_reviews))} English review rows")
    model = fit_model(data, hyper)
    training_seconds = time.perf_counter() - started

    metrics = score_held_out(model, held_out) if held_out and args.holdout > 0 else {}
    training_files = (corpus_files or [CORPUS_PATH]) + nsmc_files + english_files
    fingerprint = artifacts.fingerprint_files(training_files)
    metadata = save_model(
        model,
        model_dir,
        fingerprint=fingerprint,
        metrics=metrics,
        training_seconds=round(training_seconds, 1),
        training_files=[path.name for path in training_files],
        holdout=args.holdout,
        hyperparameters=vars(hyper),
    )
    _log(f"wrote {model_dir / MODEL_FILE} in {training_seconds:.1f} s")
    return metadata


def ensure_model(model_dir: Path | None = None) -> Path:
    """Train with whatever data is present unless the artifact already exists; return the model folder."""
    target = Path(model_dir) if model_dir else artifacts.model_dir(MODEL_NAME)
    if (target / MODEL_FILE).is_file() and (target / artifacts.METADATA_FILE).is_file():
        return target
    train(build_parser().parse_args(["--model-dir", str(target)]))
    return target


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    return train(args)


if __name__ == "__main__":
    main()
