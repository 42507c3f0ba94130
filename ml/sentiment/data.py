"""Readers for the sentiment training files and the deterministic held-out split.

Formats:
- the project corpus: TSV with header `text<TAB>label<TAB>language`, label negative, neutral or
  positive (ships in `ml/sentiment/corpus/service_desk.tsv`);
- NSMC: TSV with header `id<TAB>document<TAB>label`, label 0 negative, 1 positive;
- UCI sentiment labelled sentences: `sentence<TAB>label` without header, label 0 or 1.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from ml.common.datasets import dataset_path

CORPUS_PATH = Path(__file__).resolve().parent / "corpus" / "service_desk.tsv"
SPLIT_SEED = 20240601
_CORPUS_LABELS = ("negative", "neutral", "positive")


@dataclass
class LabelledTexts:
    """Texts with string labels (negative, neutral or positive) from one file."""

    name: str
    texts: list[str]
    labels: np.ndarray

    def subset(self, indices: np.ndarray) -> LabelledTexts:
        return LabelledTexts(self.name, [self.texts[i] for i in indices], self.labels[indices])

    def __len__(self) -> int:
        return len(self.texts)


def default_nsmc_file() -> Path | None:
    path = dataset_path("nsmc", "ratings_train_rawderived.txt")
    return path if path.is_file() else None


def default_english_files() -> list[Path]:
    folder = dataset_path("sentiment_labelled_sentences")
    return sorted(folder.glob("*_labelled.txt")) if folder.is_dir() else []


def default_bitext_file() -> Path | None:
    path = dataset_path("bitext_customer_support", "bitext_customer_support_train.csv")
    return path if path.is_file() else None


def _binary_label(value: str, path: Path, line_number: int) -> str:
    if value == "0":
        return "negative"
    if value == "1":
        return "positive"
    raise ValueError(f"{path}:{line_number}: label must be 0 or 1, got {value!r}")


def read_corpus(path: Path = CORPUS_PATH) -> LabelledTexts:
    """Read a corpus TSV with header text, label, language."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"text", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}; expected text, label, language")
        texts, labels = [], []
        for line_number, row in enumerate(reader, start=2):
            if row["label"] not in _CORPUS_LABELS:
                raise ValueError(f"{path}:{line_number}: label must be one of {_CORPUS_LABELS}, got {row['label']!r}")
            texts.append(row["text"])
            labels.append(row["label"])
    return LabelledTexts(path.stem, texts, np.asarray(labels))


def read_nsmc(path: Path) -> LabelledTexts:
    """Read an NSMC ratings file (id, document, label with a header line)."""
    texts, labels = [], []
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header != ["id", "document", "label"]:
            raise ValueError(f"{path}: expected the header 'id<TAB>document<TAB>label', got {header}")
        for line_number, line in enumerate(handle, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise ValueError(f"{path}:{line_number}: expected 3 tab-separated fields, got {len(parts)}")
            texts.append(parts[1])
            labels.append(_binary_label(parts[2], path, line_number))
    return LabelledTexts(path.stem, texts, np.asarray(labels))


def read_sentences(path: Path) -> LabelledTexts:
    """Read a UCI sentiment labelled sentences file (sentence<TAB>label, no header)."""
    texts, labels = [], []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            sentence, separator, label = line.rstrip("\n").rpartition("\t")
            if not separator:
                raise ValueError(f"{path}:{line_number}: expected 'sentence<TAB>label'")
            texts.append(sentence.strip())
            labels.append(_binary_label(label.strip(), path, line_number))
    return LabelledTexts(path.stem, texts, np.asarray(labels))


def holdout_split(data: LabelledTexts, fraction: float) -> tuple[LabelledTexts, LabelledTexts]:
    """Split one file into (train, held-out) parts, stratified by label and fixed by SPLIT_SEED.

    A fraction of 0 returns the whole file for training and an empty held-out part.
    """
    indices = np.arange(len(data))
    if fraction <= 0:
        return data, data.subset(indices[:0])
    train, held_out = train_test_split(indices, test_size=fraction, random_state=SPLIT_SEED, stratify=data.labels)
    return data.subset(np.sort(train)), data.subset(np.sort(held_out))


def read_bitext(path: Path) -> tuple[list[str], np.ndarray]:
    """Read the Bitext customer support CSV; return the customer messages and their intents."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"instruction", "intent"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        rows = [(row["instruction"], row["intent"]) for row in reader]
    return [text for text, _ in rows], np.asarray([intent for _, intent in rows])
