"""Cases: anchored networks are child-safety cases; coordination without anchors is kept apart."""

from __future__ import annotations

from cordon.cases.build import Anchor, build_cases
from cordon.model import CaseLabel, EvidenceItem, Finding, Platform, Subject

M = Platform.MASTODON
EV = EvidenceItem("test", "a fact")


def _acc(x: str) -> Subject:
    return Subject("account", x, M)


def _member(x: str, tied_to: str) -> Finding:
    return Finding(
        "expansion", "member", (_acc(x),), 0.8, (EvidenceItem("co-reply", "t", refs=(_acc(tied_to),)),)
    )


def test_anchored_network_with_swarm_and_evader_and_separate_spam() -> None:
    anchors = [Anchor(M, "p1", "post1", "f" * 64, "bank", "e1", 3, True)]
    findings = [
        _member("b1", "p1"),
        _member("b2", "b1"),
        Finding(
            "reply-swarm",
            "swarm",
            (Subject("post", "post1", M), _acc("p1"), _acc("b1"), _acc("b3")),
            0.9,
            (EV,),
        ),
        Finding("ban-evasion", "evasion", (_acc("p1new"), _acc("p1")), 0.8, (EV,)),
        Finding(
            "reply-swarm", "swarm", (Subject("post", "ad", M), _acc("shop"), _acc("s1"), _acc("s2")), 0.9
        ),
    ]
    cases = build_cases(M, anchors, findings)
    assert [c.label for c in cases] == [CaseLabel.CHILD_SAFETY, CaseLabel.COORDINATED_SPAM]
    network, spam = cases
    roles = {m.account_id: m.role for m in network.members}
    assert roles == {
        "p1": "poster",
        "b1": "amplifier",
        "b2": "associate",
        "b3": "amplifier",
        "p1new": "evader",
    }
    assert {m.account_id for m in spam.members} == {"shop", "s1", "s2"}
    assert all(m.evidence for m in network.members)
    # deterministic ids: the same input gives the same case ids
    assert [c.id for c in build_cases(M, anchors, reversed(findings))] == [c.id for c in cases]


def test_no_anchor_no_child_safety_case() -> None:
    cases = build_cases(
        M, [Anchor(M, "p1", "x", "f" * 64, "spam-bank", "e", 0, False)], [_member("b1", "p1")]
    )
    assert all(c.label is not CaseLabel.CHILD_SAFETY for c in cases)


def test_a_members_kept_evidence_does_not_depend_on_order_or_hashing() -> None:
    # ten swarms with the same wording and weight: the eight kept are the first by their refs
    anchors = [Anchor(M, "p1", "post1", "f" * 64, "bank", "e1", 3, True)]
    same = "21 distinct accounts replied within 15 min"
    swarms = [
        Finding(
            "reply-swarm",
            "swarm",
            (Subject("post", f"post{n}", M), _acc("p1"), _acc("b1")),
            0.9,
            (EvidenceItem("reply-swarm", same, refs=(Subject("post", f"post{n}", M),)),),
        )
        for n in range(10, 20)
    ]
    for order in (swarms, swarms[::-1]):
        (case,) = build_cases(M, anchors, order)
        (b1,) = [m for m in case.members if m.account_id == "b1"]
        assert [e.refs[0].id for e in b1.evidence] == [f"post{n}" for n in range(10, 18)]
