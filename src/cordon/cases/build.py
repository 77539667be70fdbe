"""Group findings into network cases, give each member its role and evidence, and label the case.

A case is labelled child-safety only on anchoring evidence: it must contain an account whose media matched a
bank of that category (an anchor), and every other member must be tied to it by findings (expansion ties,
reply swarms on the network's posts, evasion of a banned member). Coordination found without an anchor (bot
swarms, creation waves around accounts that carry no match) becomes a coordinated-spam case, kept apart.
Pure: takes findings and anchors, returns cases. Deterministic ids (from the case's earliest anchor or member).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cordon.model import Case, CaseLabel, CaseMember, EvidenceItem, Finding, Platform, Subject

# roles, strongest first: a member with several gets the first that applies
ROLE_ORDER = ("poster", "evader", "hijacked", "amplifier", "wave-account", "associate")
_ROLE_OF_KIND = {"evasion": "evader", "takeover": "hijacked", "swarm": "amplifier", "wave": "wave-account"}


@dataclass(frozen=True, slots=True)
class Anchor:
    """An account's media matched a bank entry: the evidence a child-safety case stands on."""

    platform: Platform
    account_id: str
    post_id: str
    sha256: str
    bank: str
    entry_id: str
    distance: int
    child_safety: bool


class _Components:
    """Union-find over account ids."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _accounts(finding: Finding) -> list[str]:
    return [s.id for s in finding.subjects if s.kind == "account"]


def _case_id(label: CaseLabel, key: str) -> str:
    return "case-" + hashlib.sha256(f"{label}|{key}".encode()).hexdigest()[:16]


def build_cases(
    platform: Platform, anchors: Sequence[Anchor], findings: Iterable[Finding]
) -> tuple[Case, ...]:
    """Network cases from anchors and findings (expansion members, swarms, evasion, takeover, waves)."""
    findings = tuple(findings)
    cs_anchor_accounts = {a.account_id for a in anchors if a.child_safety}
    network = set(cs_anchor_accounts)
    network.update(s.id for f in findings if f.detector == "expansion" for s in f.subjects)
    comps = _Components()
    for account in network:
        comps.find(account)
    for f in findings:
        if f.detector == "expansion":
            member = _accounts(f)[0]
            for ev in f.evidence:
                for ref in ev.refs:
                    if ref.kind == "account" and ref.id in network:
                        comps.union(member, ref.id)
    # a swarm on a network post, or evasion of a network account, brings all its accounts in (to a fixed point:
    # an evader of an evader joins too)
    joining = [f for f in findings if f.kind in ("swarm", "evasion")]
    grown = True
    while grown:
        grown = False
        for f in joining:
            accounts = _accounts(f)
            inside = [a for a in accounts if a in network]
            if inside and not network.issuperset(accounts):
                grown = True
            for account in accounts if inside else ():
                network.add(account)
                comps.union(inside[0], account)
    evidence: dict[str, list[EvidenceItem]] = defaultdict(list)
    roles: dict[str, set[str]] = defaultdict(set)
    finding_ids: dict[str, set[str]] = defaultdict(set)
    for anchor in anchors:
        evidence[anchor.account_id].append(
            EvidenceItem(
                "hash-match",
                f"post {anchor.post_id}: media {anchor.sha256[:12]}… matched {anchor.bank}/{anchor.entry_id} "
                f"at distance {anchor.distance}",
                refs=(Subject("post", anchor.post_id, platform), Subject("media", anchor.sha256)),
            )
        )
        if anchor.child_safety:
            roles[anchor.account_id].add("poster")
    for f in findings:
        for account in _accounts(f):
            evidence[account].extend(f.evidence)
            finding_ids[account].add(f.id)
            role = _ROLE_OF_KIND.get(f.kind)
            if role == "evader" and account != _accounts(f)[0]:
                continue  # the replaced (banned) account is not itself an evader
            if role == "amplifier" and account == _accounts(f)[0]:
                continue  # the swarmed post's author is not an amplifier of it
            if role:
                roles[account].add(role)
    groups: dict[str, list[str]] = defaultdict(list)
    for account in network:
        groups[comps.find(account)].append(account)
    cases = []
    for members in groups.values():
        seeds = sorted(set(members) & cs_anchor_accounts)
        if not seeds:
            continue
        cases.append(_case(platform, CaseLabel.CHILD_SAFETY, seeds[0], members, evidence, roles, finding_ids))
    # coordination without anchors: swarms and waves outside every child-safety network
    spam = _Components()
    spam_members: set[str] = set()
    for f in findings:
        if f.kind in ("swarm", "wave") and not network.intersection(_accounts(f)):
            accounts = _accounts(f)
            spam_members.update(accounts)
            for a in accounts:
                spam.union(accounts[0], a)
    spam_groups: dict[str, list[str]] = defaultdict(list)
    for account in spam_members:
        spam_groups[spam.find(account)].append(account)
    for members in spam_groups.values():
        key = min(members)
        cases.append(_case(platform, CaseLabel.COORDINATED_SPAM, key, members, evidence, roles, finding_ids))
    return tuple(sorted(cases, key=lambda c: (c.label != CaseLabel.CHILD_SAFETY, -c.score, c.id)))


def _evidence_order(e: EvidenceItem) -> tuple[float, str, str, tuple[tuple[str, str, str], ...]]:
    """Strongest first; ties broken by every field, so that the kept eight do not depend on set order (which
    changes from process to process with string hashing)."""
    return (-e.weight, e.kind, e.detail, tuple((r.kind, str(r.platform or ""), r.id) for r in e.refs))


def _case(
    platform: Platform,
    label: CaseLabel,
    key: str,
    members: Sequence[str],
    evidence: dict[str, list[EvidenceItem]],
    roles: dict[str, set[str]],
    finding_ids: dict[str, set[str]],
) -> Case:
    case_members = tuple(
        CaseMember(
            account_id=a,
            platform=platform,
            role=next((r for r in ROLE_ORDER if r in roles[a]), "associate"),
            evidence=tuple(sorted(set(evidence[a]), key=_evidence_order)[:8]),
        )
        for a in sorted(members)
    )
    n_anchored = sum(1 for m in case_members if m.role == "poster")
    score = round(min(1.0, 0.5 * (n_anchored > 0) + 0.1 * len(case_members) ** 0.5), 4)
    return Case(
        id=_case_id(label, key),
        label=label,
        score=score,
        members=case_members,
        finding_ids=tuple(sorted({fid for a in members for fid in finding_ids[a]})),
    )
