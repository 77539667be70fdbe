"""The review queue and decisions on the real state store (SQLite and PostgreSQL): priority order, status
derived in SQL exactly as in Python, the four-eyes rule, notes, re-import, and logged reveals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cordon.model import CaseLabel, CaseStatus
from cordon.respond import oversight, review
from cordon.respond.review import CaseImport, Decision, DecisionRefusedError
from cordon.respond.state.store import StateStore

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def case(case_id: str, **overrides: object) -> CaseImport:
    base: dict[str, object] = {
        "id": case_id, "label": CaseLabel.CHILD_SAFETY, "score": 0.5, "platform": "mastodon", "members": 10,
        "novel_media": 0, "latest_activity": NOW - timedelta(days=1), "dossier": {"case": {"id": case_id}},
    }  # fmt: skip
    base.update(overrides)
    return CaseImport(**base)  # type: ignore[arg-type]


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    st_ = StateStore(state_url)
    yield st_
    st_.close()


sizes = st.integers(0, 1_000_000)
ages = st.none() | st.floats(0, 3650).map(lambda d: NOW - timedelta(days=d))
scores = st.floats(0, 1)


@given(sizes, sizes, ages, scores, sizes, sizes, ages, scores)
def test_child_safety_outranks_any_other_category(m1, n1, a1, s1, m2, n2, a2, s2) -> None:  # type: ignore[no-untyped-def]
    cs = review.priority(CaseLabel.CHILD_SAFETY, m1, n1, a1, s1, NOW)
    for other in (CaseLabel.COORDINATED_SPAM, CaseLabel.UNDETERMINED, CaseLabel.ORGANIC):
        assert cs > review.priority(other, m2, n2, a2, s2, NOW)


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.floats(0, 365), scores)
def test_priority_grows_with_size_novel_media_and_recency(members, novel, age, score) -> None:  # type: ignore[no-untyped-def]
    at = NOW - timedelta(days=age)

    def p(**kw: object) -> float:
        args: dict[str, object] = {
            "members": members,
            "novel_media": novel,
            "latest_activity": at,
            "score": score,
        }
        args.update(kw)
        return review.priority(CaseLabel.CHILD_SAFETY, now=NOW, **args)  # type: ignore[arg-type]

    assert p(members=members * 2 + 1) > p()
    assert p(novel_media=novel * 2 + 1) > p()
    newer, older = p(latest_activity=at + timedelta(days=1)), p(latest_activity=at - timedelta(days=1))
    assert newer >= p() >= older >= p(latest_activity=None)
    if (
        1 <= age <= 60
    ):  # activity in the future counts as now; beyond 60 days the week's half-life has made recency vanish at the priority's precision
        assert newer > p() > older > p(latest_activity=None)


def test_queue_orders_by_priority_and_filters_on_derived_status(store: StateStore) -> None:
    imports = [
        case("spam-big", label=CaseLabel.COORDINATED_SPAM, members=5000, novel_media=300, score=1.0),
        case("cs-old", latest_activity=NOW - timedelta(days=60)),
        case("cs-new", latest_activity=NOW),
        case("cs-new-media", latest_activity=NOW, novel_media=40),
    ]
    assert review.import_cases(store, imports, "importer", now=NOW) == review.ImportResult(4, 0, 0)
    page = review.queue(store)
    assert [i.id for i in page.items] == ["cs-new-media", "cs-new", "cs-old", "spam-big"]
    assert page.total == 4 and all(i.status is CaseStatus.OPEN for i in page.items)
    assert [i.priority for i in page.items] == sorted((i.priority for i in page.items), reverse=True)

    review.decide(store, "cs-new", Decision.CLAIM, "rita")
    review.decide(store, "cs-old", Decision.DISMISS, "sam", "organic conversation, no tie to the anchor")
    review.decide(store, "spam-big", Decision.ESCALATE, "sam", "spam network also posts tagA1")
    page = review.queue(store)
    assert [(i.id, i.status, i.claimed_by) for i in page.items] == [
        ("cs-new-media", CaseStatus.OPEN, ""),
        ("cs-new", CaseStatus.IN_REVIEW, "rita"),
        ("spam-big", CaseStatus.ESCALATED, ""),
    ]
    dismissed = review.queue(store, statuses=frozenset({CaseStatus.DISMISSED}))
    assert [i.id for i in dismissed.items] == ["cs-old"]
    # the status in SQL agrees with the status derived in Python from the events, for every case
    everything = review.queue(store, statuses=frozenset(CaseStatus), limit=100)
    assert {i.id: i.status for i in everything.items} == {c.id: store.status(c.id) for c in imports}
    assert review.status_counts(store)[CaseStatus.OPEN] == 1
    spam_only = review.queue(store, label=CaseLabel.COORDINATED_SPAM)
    assert [i.id for i in spam_only.items] == ["spam-big"]
    second = review.queue(store, statuses=frozenset(CaseStatus), limit=2, offset=2)
    assert second.total == 4 and [i.id for i in second.items] == [i.id for i in everything.items[2:4]]


def test_decisions_follow_status_notes_and_four_eyes(store: StateStore) -> None:
    review.import_cases(store, [case("c1"), case("c2")], "importer", now=NOW)
    with pytest.raises(DecisionRefusedError, match="needs a note"):
        review.decide(store, "c1", Decision.DISMISS, "rita")
    with pytest.raises(review.CaseNotFoundError):
        review.decide(store, "nope", Decision.CONFIRM, "rita")
    review.decide(store, "c1", Decision.CLAIM, "rita")
    with pytest.raises(DecisionRefusedError, match="already claimed by rita"):
        review.decide(store, "c1", Decision.CLAIM, "sam")
    review.decide(store, "c1", Decision.SECOND_REVIEW, "rita", "two members unclear")
    with pytest.raises(DecisionRefusedError, match="another reviewer"):
        review.decide(store, "c1", Decision.CONFIRM, "rita")
    review.decide(store, "c1", Decision.CONFIRM, "sam")
    assert store.status("c1") is CaseStatus.CONFIRMED
    with pytest.raises(DecisionRefusedError, match="is confirmed"):
        review.decide(store, "c1", Decision.DISMISS, "sam", "changed my mind")
    kinds = [(e.kind, e.actor) for e in store.events("c1")]
    assert kinds == [("opened", "importer"), ("claim", "rita"), ("second-review", "rita"), ("confirm", "sam")]
    # every decision is in the audit chain, which still verifies
    audited = [e.action for e in store.audit_entries() if e.subject == "case:c1"]
    assert audited == ["case.opened", "case.claim", "case.second-review", "case.confirm"]
    assert store.verify_audit().ok


def test_reimport_refreshes_the_dossier_and_keeps_the_events(store: StateStore) -> None:
    review.import_cases(store, [case("c1")], "importer", now=NOW)
    review.decide(store, "c1", Decision.CONFIRM, "rita")
    assert review.import_cases(store, [case("c1")], "importer", now=NOW) == review.ImportResult(0, 0, 1)
    grown = case("c1", members=25, dossier={"case": {"id": "c1", "grown": True}})
    assert review.import_cases(store, [grown], "importer", now=NOW) == review.ImportResult(0, 1, 0)
    assert review.case_dossier(store, "c1") == {"case": {"id": "c1", "grown": True}}
    assert review.case_summary(store, "c1").members == 25
    assert store.status("c1") is CaseStatus.CONFIRMED  # "updated" does not change the status
    assert [e.kind for e in store.events("c1")] == ["opened", "confirm", "updated"]


def test_reveals_are_logged_and_grant_access_for_a_while(store: StateStore) -> None:
    review.import_cases(store, [case("c1")], "importer", now=NOW)
    sha = "ab" * 32
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert not review.revealed_since(store, "rita", "c1", sha, before)
    entry = review.reveal(store, "rita", "c1", sha)
    assert entry.action == "media.reveal" and entry.subject == f"media:{sha}" and entry.actor == "rita"
    assert review.revealed_since(store, "rita", "c1", sha, before)
    assert not review.revealed_since(store, "sam", "c1", sha, before)  # the grant is personal
    assert not review.revealed_since(store, "rita", "c1", sha, datetime.now(UTC) + timedelta(seconds=1))
    assert [s for s, _ in review.reveals_of(store, "rita", "c1")] == [sha]
    assert store.exposure() == {"rita": 1}
    page = oversight.audit_page(store, subject=f"media:{sha}")
    assert [(e.seq, e.actor) for e in page] == [(entry.seq, "rita")]
