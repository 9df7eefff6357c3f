"""Running a port's async adapter inside a (synchronous) hypothesis state machine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar, Generic, TypeVar

from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

T = TypeVar("T")
A = TypeVar("A")


class AsyncAdapterMachine(RuleBasedStateMachine, Generic[A]):
    """A state machine that owns one event loop and one adapter made inside it.

    Subclasses set `factory` (a zero-argument callable returning an async context
    manager that yields the adapter) before hypothesis instantiates the machine,
    call `self.run(coroutine)` from their rules, and compare with a plain model.
    The adapter's context is closed, and the loop with it, in `teardown`.
    """

    factory: Callable[[], AbstractAsyncContextManager[A]]

    def __init__(self) -> None:
        super().__init__()
        self._runner = asyncio.Runner()
        self._stack = contextlib.AsyncExitStack()
        self.adapter: A = self.run(self._stack.enter_async_context(self.factory()))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` to completion on this machine's loop."""
        return self._runner.run(coroutine)

    def teardown(self) -> None:
        try:
            self.run(self._stack.aclose())
        finally:
            self._runner.close()


class ContractSuite:
    """What every contract suite shares: how its state machine is run.

    `state_machine_examples` caps how many runs the suite's state machine makes
    (`None`: as many as the hypothesis profile in force says). An adapter whose every
    operation is a round trip to a real server or file (SQL, Redis, a lock file) sets
    it in its test class, so that the thorough CI profile spends its budget on steps
    rather than on opening connections; each run still takes the profile's steps.
    """

    state_machine_examples: ClassVar[int | None] = None

    def run_machine(self, machine: type[RuleBasedStateMachine]) -> None:
        """Run `machine` under the profile in force, capped by `state_machine_examples`."""
        cap = self.state_machine_examples
        if cap is None:
            run_state_machine_as_test(machine)
            return
        default = machine.TestCase.settings  # the profile's, as hypothesis runs machines
        run_state_machine_as_test(
            machine, settings=settings(default, max_examples=min(default.max_examples, cap))
        )
