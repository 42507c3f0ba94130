"""Text features shared by training and inference: language, negation scope, morphemes, n-grams.

This module runs inside the SageMaker scikit-learn container, so it imports only the standard
library, numpy, scipy and scikit-learn. kiwipiepy (Korean morphemes) is imported lazily and only
by models trained with morpheme features.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

LANGUAGES: tuple[str, ...] = ("ko", "en", "mixed", "unknown")

# A text is "mixed" when the smaller of the two scripts has at least this share of its letters,
# counting one Hangul syllable or one Latin letter as one letter each.
MIXED_SCRIPT_SHARE = 0.15

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3131-\u318e]")
_LATIN = re.compile(r"[A-Za-z]")
_TOKEN = re.compile(r"[\w']+|[.,!?;:]")
_NEGATORS = frozenset(
    {"not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "cannot", "hardly", "without"}
)
_CLAUSE_END = frozenset(".,!?;:")


def detect_language(text: str) -> str:
    """Return "ko", "en", "mixed" or "unknown" from the share of Hangul and Latin letters."""
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    letters = hangul + latin
    if letters == 0:
        return "unknown"
    if min(hangul, latin) / letters >= MIXED_SCRIPT_SHARE:
        return "mixed"
    return "ko" if hangul > latin else "en"


def mark_negation(text: str) -> str:
    """Lower-case and tokenise `text`, prefixing words after a negator with NEG_ up to the clause end.

    "not good, fine" becomes "not NEG_good , fine", so a linear model can tell "good" from
    "not good" with unigram features.
    """
    tokens = []
    negated = False
    for token in _TOKEN.findall(text.lower()):
        if token in _CLAUSE_END:
            negated = False
            tokens.append(token)
            continue
        tokens.append("NEG_" + token if negated else token)
        if token in _NEGATORS or token.endswith("n't"):
            negated = True
    return " ".join(tokens)


class MorphemeTokenizer:
    """Korean morpheme analysis with kiwipiepy, as "form/TAG" tokens joined by spaces.

    The Kiwi analyser takes a few seconds to load, so it is created on first use and is not
    pickled with the model.
    """

    def __init__(self, num_workers: int = 1) -> None:
        self.num_workers = num_workers
        self._kiwi: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"num_workers": self.num_workers}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["num_workers"])

    def _analyser(self) -> Any:
        with self._lock:
            if self._kiwi is None:
                # NOTE: kiwipiepy is not in the SageMaker scikit-learn image. A deployment of a
                # model trained with morphemes must list it in the requirements.txt of its source_dir.
                from kiwipiepy import Kiwi

                self._kiwi = Kiwi(num_workers=self.num_workers)
        return self._kiwi

    def tokenize(self, texts: Sequence[str]) -> list[str]:
        """Return one morpheme string per text; texts without Hangul are passed through."""
        output = list(texts)
        korean = [index for index, text in enumerate(texts) if _HANGUL.search(text)]
        if not korean:
            return output
        analysed = self._analyser().tokenize([texts[index] for index in korean])
        for index, tokens in zip(korean, analysed, strict=True):
            output[index] = " ".join(f"{token.form}/{token.tag[:2]}" for token in tokens)
        return output


def morphemes_available() -> bool:
    """Return whether kiwipiepy can be imported."""
    try:
        import kiwipiepy  # noqa: F401
    except ImportError:
        return False
    return True


class NgramBlock:
    """One block of hashed n-gram TF-IDF features over an optional text transformation.

    `source` selects the text the block transforms: "raw" (the message), "negation" (mark_negation
    output, words) or "morphemes" (MorphemeTokenizer output, words). Hashing keeps the artifact
    small and independent of the vocabulary size.
    """

    def __init__(self, analyzer: str, ngram_range: tuple[int, int], source: str = "raw", n_features: int = 2**20):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.source = source
        token_pattern = r"\S+" if source in ("negation", "morphemes") else r"(?u)\b\w+\b"
        self.hasher = HashingVectorizer(
            analyzer=analyzer,
            ngram_range=ngram_range,
            token_pattern=token_pattern if analyzer == "word" else None,
            lowercase=source != "morphemes",
            n_features=n_features,
            alternate_sign=False,
            norm=None,
            dtype=np.float32,
        )
        self.tfidf = TfidfTransformer(sublinear_tf=True)

    def fit_transform(self, views: dict[str, Sequence[str]]) -> sp.csr_matrix:
        counts = self.hasher.transform(views[self.source])
        return self.tfidf.fit_transform(counts).astype(np.float32)

    def transform(self, views: dict[str, Sequence[str]]) -> sp.csr_matrix:
        counts = self.hasher.transform(views[self.source])
        return self.tfidf.transform(counts).astype(np.float32)


class FeatureSet:
    """Several NgramBlocks stacked side by side, with the text views they need."""

    def __init__(self, blocks: list[NgramBlock], morphemes: MorphemeTokenizer | None = None):
        self.blocks = blocks
        self.morphemes = morphemes

    def views(self, texts: Sequence[str]) -> dict[str, Sequence[str]]:
        sources = {block.source for block in self.blocks}
        views: dict[str, Sequence[str]] = {"raw": texts}
        if "negation" in sources:
            views["negation"] = [mark_negation(text) for text in texts]
        if "morphemes" in sources:
            if self.morphemes is None:
                raise ValueError("a morpheme block needs a MorphemeTokenizer")
            views["morphemes"] = self.morphemes.tokenize(texts)
        return views

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        views = self.views(texts)
        return sp.hstack([block.fit_transform(views) for block in self.blocks]).tocsr()

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        views = self.views(texts)
        return sp.hstack([block.transform(views) for block in self.blocks]).tocsr()
