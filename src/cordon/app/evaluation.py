"""How well `cordon analyze` found a simulated world's planted network: cases.json scored against truth.json.

The figures are the ones issue 4 sets goals for: network accounts in child-safety cases (recall, precision),
decoy accounts wrongly put in a child-safety case, evading accounts linked to the account they replace,
flooded hashtags found (innocent ones included) and organic burst tags wrongly flagged, and novel network
media queued for review.
"""

from __future__ import annotations

from dataclasses import dataclass

from cordon.app.reporting import CasesDocument
from cordon.model import CaseLabel
from cordon.sim.truth import Truth


@dataclass(frozen=True, slots=True)
class Scores:
    network_accounts: int
    flagged_accounts: int  # members of child-safety cases
    network_recall: float
    network_precision: float
    decoys_flagged: dict[str, int]  # decoy kind -> accounts of that kind in a child-safety case
    evasions: int
    evasion_linked: float  # share of evasions linked new -> replaced
    flooded_tags: int
    flooded_found: float
    innocent_tags: int
    innocent_found: float
    burst_tags_flagged: int
    novel_media: int
    novel_queued: float
    child_safety_cases: int
    cases: int

    def failures(self, goals: Goals) -> list[str]:
        """Every goal this world misses, each as a sentence with the figure."""
        missed = []
        if self.network_recall < goals.recall:
            missed.append(f"network recall {self.network_recall:.3f} < {goals.recall}")
        if self.network_precision < goals.precision:
            missed.append(f"network precision {self.network_precision:.3f} < {goals.precision}")
        flagged = {k: v for k, v in self.decoys_flagged.items() if v}
        if flagged:
            missed.append(f"decoy accounts in child-safety cases: {flagged}")
        if self.evasions and self.evasion_linked < goals.evasion:
            missed.append(f"evasions linked {self.evasion_linked:.3f} < {goals.evasion}")
        if self.flooded_found < 1.0:
            missed.append(f"flooded hashtags found {self.flooded_found:.3f} < 1")
        if self.burst_tags_flagged:
            missed.append(f"{self.burst_tags_flagged} organic burst tag(s) flagged")
        if self.novel_media and self.novel_queued < goals.novel:
            missed.append(f"novel media queued {self.novel_queued:.3f} < {goals.novel}")
        return missed


@dataclass(frozen=True, slots=True)
class Goals:
    recall: float = 0.95
    precision: float = 0.95
    evasion: float = 0.90
    novel: float = 0.80


def _share(found: int, total: int) -> float:
    return found / total if total else 1.0


def score(truth: Truth, doc: CasesDocument) -> Scores:
    """Score the cases of `doc` against the world's `truth`."""
    child = [d for d in doc.cases if d.case.label is CaseLabel.CHILD_SAFETY]
    flagged = {m.account_id for d in child for m in d.case.members}
    network = set(truth.network_accounts)
    hits = len(flagged & network)
    links = {(e.new_account_id, e.replaces_account_id) for d in doc.cases for e in d.evasion}
    evasions = {(e.new, e.replaces) for e in truth.evasions}
    tags = {t.tag.casefold() for d in child for t in d.suppress_tags}
    flooded = {t.tag.casefold() for t in truth.flooded_hashtags}
    innocent = {t.tag.casefold() for t in truth.flooded_hashtags if t.kind == "innocent"}
    bursts = {t.casefold() for t in truth.organic_burst_tags}
    queued = {q.sha256 for d in child for q in d.media_queue}
    novel = set(truth.novel_network_media)
    return Scores(
        network_accounts=len(network),
        flagged_accounts=len(flagged),
        network_recall=_share(hits, len(network)),
        network_precision=_share(hits, len(flagged)),
        decoys_flagged={kind: len(flagged & set(ids)) for kind, ids in sorted(truth.decoy_accounts.items())},
        evasions=len(evasions),
        evasion_linked=_share(len(evasions & links), len(evasions)),
        flooded_tags=len(flooded),
        flooded_found=_share(len(flooded & tags), len(flooded)),
        innocent_tags=len(innocent),
        innocent_found=_share(len(innocent & tags), len(innocent)),
        burst_tags_flagged=len(bursts & tags),
        novel_media=len(novel),
        novel_queued=_share(len(novel & queued), len(novel)),
        child_safety_cases=len(child),
        cases=len(doc.cases),
    )
