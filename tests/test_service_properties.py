"""Properties of the HTTP API: whatever body a client sends, the answer is never a 500, and an answer that is not
a success changes nothing (a refusal only adds its trail entry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow.engine.state import case_state
from approvalflow.store.cases import load_case_from

from .service_support import MARKET, Service, make_service

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
PEOPLE = st.sampled_from(["wang", "liu", "zhou", "li", "zhang", "tx_wang", "nobody", "", " wang"])
STEPS = st.sampled_from(["accept", "review", "decide", "start", "nothing", "%20", "accept%00"])
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "actor": PEOPLE | JSON,
        "to": PEOPLE | JSON,
        "reason": st.text(max_size=30) | JSON,
        "data": JSON,
        "opinion": st.sampled_from(["同意", "agree", "return", "maybe"]) | JSON,
        "at": st.sampled_from(["2026-03-01T09:00:00+08:00", "2026-03-03T09:00:00+08:00", "2026-03-03T09:00:00", "soon"])
        | JSON,
        "instance": st.integers(-2, 3) | JSON,
        "attachments": JSON,
    },
)
OPERATIONS = st.sampled_from(["complete", "claim", "unclaim", "transfer", "delegate", "return", "take-back", "urge"])


def _snapshot(s: Service) -> tuple[dict[str, Any], int]:
    stored = load_case_from(s.store, "c1", None, s.context.organisations[MARKET])
    return case_state(stored.case), stored.case.trail.count


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operation=OPERATIONS, step=STEPS, body=BODIES | JSON)
def test_random_bodies_never_give_a_500_and_a_failure_changes_nothing(
    tmp_path_factory: Any, operation: str, step: str, body: Any
) -> None:
    s = _service(tmp_path_factory.mktemp("svc"))
    before, entries = _snapshot(s)
    r = s.post(f"/api/v1/cases/c1/steps/{step}/{operation}", body)
    assert r.status_code < 500, r.text
    if r.status_code >= 300:
        assert r.headers["content-type"] == "application/problem+json"
        after, entries_after = _snapshot(s)
        assert after == before
        refused = r.status_code == 409 and r.json()["type"] == "/problems/refused"
        assert entries_after == entries + (1 if refused else 0)
    s.store.close()


def _service(folder: Path) -> Service:
    s = make_service("memory", folder)
    assert s.deploy().status_code == 201
    assert s.start("c1").status_code == 201
    return s
