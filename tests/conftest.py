"""Shared fixtures: the sample licensing process, the sample county organisation, small test models."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvalflow import (
    FakeClock,
    Organisation,
    ProcessDefinition,
    load_organisation,
    load_process,
    organisation_from_dict,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
LICENSING = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
SAMPLE_ORG = ROOT / "processes" / "org" / "sample_county.yaml"
MARKET_ORG = DATA / "market_bureau.yaml"  # the market bureau alone: one unit


@pytest.fixture(scope="session")
def licensing() -> ProcessDefinition:
    return load_process(LICENSING)


@pytest.fixture(scope="session")
def org() -> Organisation:
    return load_organisation(MARKET_ORG)


@pytest.fixture(scope="session")
def meeting_process() -> ProcessDefinition:
    return load_process(DATA / "meeting.bpmn")


@pytest.fixture(scope="session")
def meeting_org() -> Organisation:
    return organisation_from_dict(
        {
            "units": [{"id": "gov", "principal": "boss", "deputies": {"dep1": ["finance"], "dep2": ["approval"]}}],
            "people": {
                "boss": {"unit": "gov", "posts": ["principal", "leader"]},
                "dep1": {"unit": "gov", "posts": ["deputy", "leader"]},
                "dep2": {"unit": "gov", "posts": ["deputy", "leader"]},
                "dep3": {"unit": "gov", "posts": ["deputy", "leader"]},
                "clerk1": {"unit": "gov", "posts": ["clerk"]},
                "clerk2": {"unit": "gov", "posts": ["clerk"]},
                "lawyer": {"unit": "gov", "posts": ["legal"]},
            },
        }
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock("2026-09-28T09:00:00+08:00")
