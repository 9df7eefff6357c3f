"""Running a port's async adapter inside a (synchronous) hypothesis state machine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypeVar

from hypothesis.stateful import RuleBasedStateMachine

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
