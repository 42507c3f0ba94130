"""Log templates: mined with Drain (drain3) when training, matched without drain3 at inference.

The SageMaker scikit-learn container has no drain3, so the mined templates are stored as
token tuples and matched here the way drain3's `TemplateMiner.match` does with
`full_search_strategy="always"`: same token count, every non-wildcard token equal, fewest
wildcards wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ml.logfailure.parsing import MASKING_PATTERNS, mask_message

WILDCARD = "<*>"


@dataclass
class TemplateSet:
    """Mined templates with how many training lines each one covered."""

    templates: list[tuple[str, ...]]
    counts: list[int]
    _by_length: dict[int, list[int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for template_id, tokens in enumerate(self.templates):
            self._by_length.setdefault(len(tokens), []).append(template_id)

    def __len__(self) -> int:
        return len(self.templates)

    def match(self, message: str) -> int | None:
        """Return the id of the template that matches the message exactly, or None."""
        tokens = mask_message(message).split()
        best_id = None
        best_wildcards = len(tokens) + 1
        for template_id in self._by_length.get(len(tokens), ()):
            template = self.templates[template_id]
            wildcards = 0
            for template_token, token in zip(template, tokens, strict=True):
                if template_token == WILDCARD:
                    wildcards += 1
                elif template_token != token:
                    break
            else:
                if wildcards < best_wildcards:
                    best_id, best_wildcards = template_id, wildcards
        return best_id

    def template_text(self, message: str) -> str:
        """Return the matching template, or the masked message itself for an unseen template."""
        template_id = self.match(message)
        if template_id is None:
            return " ".join(mask_message(message).split())
        return " ".join(self.templates[template_id])


def drain_config(similarity_threshold: float, depth: int):
    """Build the drain3 configuration with this package's masking patterns."""
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.drain_sim_th = similarity_threshold
    config.drain_depth = depth
    config.profiling_enabled = False
    config.masking_instructions = [MaskingInstruction(pattern, name) for pattern, name in MASKING_PATTERNS]
    return config


def mine_templates(messages: Iterable[str], similarity_threshold: float = 0.5, depth: int = 4) -> TemplateSet:
    """Mine templates from messages in order with drain3 and return them with their counts."""
    from drain3 import TemplateMiner

    miner = TemplateMiner(config=drain_config(similarity_threshold, depth))
    for message in messages:
        miner.add_log_message(message)

    clusters = sorted(miner.drain.clusters, key=lambda cluster: cluster.cluster_id)
    return TemplateSet(
        templates=[tuple(cluster.log_template_tokens) for cluster in clusters],
        counts=[cluster.size for cluster in clusters],
    )
