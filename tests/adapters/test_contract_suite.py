"""`ContractSuite.run_machine`: the profile's budget, capped by `state_machine_examples`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import ClassVar

import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, rule

from qbo_adapters.testing._machine import ContractSuite


def _counting_machine() -> tuple[type[RuleBasedStateMachine], list[int]]:
    runs: list[int] = []

    class Counting(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            runs.append(0)

        @rule()
        def step(self) -> None:
            runs[-1] += 1

    return Counting, runs


class _Capped(ContractSuite):
    state_machine_examples: ClassVar[int | None] = 3


@pytest.fixture
def profile() -> Iterator[None]:
    """A profile of 40 examples of 7 steps in force for the test, the usual one after."""
    settings.register_profile(
        "contract-suite-test", settings(max_examples=40, stateful_step_count=7, database=None)
    )
    settings.load_profile("contract-suite-test")
    yield
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.mark.usefixtures("profile")
def test_a_capped_suite_runs_at_most_its_cap() -> None:
    machine, runs = _counting_machine()
    _Capped().run_machine(machine)
    assert 1 <= len(runs) <= 3
    assert max(runs) == 7  # each run still takes the profile's steps


@pytest.mark.usefixtures("profile")
def test_an_uncapped_suite_runs_the_profiles_examples() -> None:
    machine, runs = _counting_machine()
    ContractSuite().run_machine(machine)
    assert len(runs) > 3
