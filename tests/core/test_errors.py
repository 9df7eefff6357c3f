"""The error tree: one root, the drawing matches the classes, flags per branch, no secrets."""

from __future__ import annotations

import inspect
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_core import errors
from qbo_core.errors import (
    AccessTokenInvalidError,
    ConfigurationError,
    ConflictError,
    DecodeError,
    LockTimeoutError,
    QBOError,
    ReadTimeoutError,
    TransportError,
)

TOKENS = st.text(alphabet=string.ascii_letters + string.digits, min_size=20, max_size=200)

ERROR_CLASSES = sorted(
    (
        value
        for value in vars(errors).values()
        if inspect.isclass(value) and issubclass(value, BaseException)
    ),
    key=lambda cls: cls.__name__,
)


def drawn_tree() -> dict[str, str | None]:
    """Each class drawn in the errors module docstring, mapped to the parent it is drawn under."""
    doc = errors.__doc__ or ""
    drawing = doc.split("::", 1)[1].split("\n\n", 2)[1]
    lines = drawing.splitlines()
    root = lines[0].split()[0]
    base = len(lines[0]) - len(lines[0].lstrip())
    parents: dict[str, str | None] = {root: None}
    stack = [root]  # stack[depth] is the latest class drawn at that depth
    for line in lines[1:]:
        match = re.match(r"^([ │]*)[├└]── (\w+)", line)
        if match is None:
            continue  # a continuation line of some description
        depth = (len(match.group(1)) - base) // 4 + 1
        name = match.group(2)
        del stack[depth:]
        parents[name] = stack[depth - 1]
        stack.append(name)
    return parents


# --------------------------------------------------------------------- the tree


def test_the_tree_parser_reads_the_drawing() -> None:
    """The docstring drawing parses into a tree with QBOError at the root and depth kept."""
    tree = drawn_tree()
    assert tree["QBOError"] is None
    assert tree["TransportError"] == "QBOError"
    assert tree["ConnectError"] == "RequestNotSentError"
    assert tree["QueryParseError"] == "QueryError"
    assert tree["ServerError"] == "QBOError"


def test_every_error_class_is_drawn_under_its_real_parent() -> None:
    """The tree in the module docstring names every error class, each under its actual base."""
    tree = drawn_tree()
    actual = {cls.__name__: cls.__bases__ for cls in ERROR_CLASSES}
    assert set(tree) == set(actual), "the docstring drawing and the classes differ"
    for name, parent in tree.items():
        bases = actual[name]
        assert len(bases) == 1, f"{name} should have one base"
        expected = "Exception" if parent is None else parent
        assert bases[0].__name__ == expected, f"{name} is drawn under {parent}"


def test_every_exported_class_is_a_qbo_error() -> None:
    """Everything errors exports is a QBOError subclass, except the ErrorContext keyword type."""
    for name in errors.__all__:
        value = getattr(errors, name)
        if name == "ErrorContext":
            continue
        assert inspect.isclass(value)
        assert issubclass(value, QBOError), name


def test_every_error_class_is_exported() -> None:
    """No error class is left out of `__all__`, and `__all__` is sorted."""
    assert {cls.__name__ for cls in ERROR_CLASSES} <= set(errors.__all__)
    assert list(errors.__all__) == sorted(errors.__all__)


# --------------------------------------------------------------------- flags per branch

RETRYABLE = {
    "RequestNotSentError",
    "ConnectError",
    "ConnectTimeoutError",
    "OutcomeUnknownError",
    "ReadTimeoutError",
    "ConnectionLostError",
    "IncompleteResponseError",
    "AccessTokenInvalidError",
    "ThrottledError",
    "ServerError",
    "LockTimeoutError",
    "StoreUnavailableError",
}


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_retryable_flag_per_branch(cls: type[QBOError]) -> None:
    """Only failures that an unchanged repeat can cure are retryable."""
    assert cls.retryable is (cls.__name__ in RETRYABLE)


@pytest.mark.parametrize(
    ("name", "maybe_applied"),
    [
        ("TransportError", True),
        ("RequestNotSentError", False),
        ("ConnectError", False),
        ("ConnectTimeoutError", False),
        ("OutcomeUnknownError", True),
        ("ReadTimeoutError", True),
        ("ConnectionLostError", True),
    ],
)
def test_maybe_applied_flag_per_transport_branch(name: str, maybe_applied: bool) -> None:
    """Failures before sending cannot have been applied; failures after sending might have."""
    cls = getattr(errors, name)
    assert issubclass(cls, TransportError)
    assert cls.maybe_applied is maybe_applied


# --------------------------------------------------------------------- content


def test_str_includes_the_context() -> None:
    """str() carries the message, detail, status, codes, realm, intuit_tid and retry_after."""
    error = errors.ThrottledError(
        "ThrottleExceeded",
        status=429,
        codes=["3001"],
        realm_id="9130",
        intuit_tid="1-5f733d9a-1d4e21aa217ba43177113df4",
        retry_after=60.0,
        detail="The request limit was reached.",
    )
    assert str(error) == (
        "ThrottleExceeded (The request limit was reached.) [status=429 code=3001 realm=9130 "
        "intuit_tid=1-5f733d9a-1d4e21aa217ba43177113df4 retry_after=60.0]"
    )
    assert repr(error) == f"ThrottledError({str(error)!r})"


def test_str_of_a_bare_error_is_its_message() -> None:
    """With no context known, str() is just the message."""
    assert str(QBOError("something failed")) == "something failed"


def test_codes_are_strings_and_code_is_the_first() -> None:
    """QBO codes are kept as strings, and `code` is the first one."""
    error = errors.ValidationError("bad", codes=[6240, "2010"])  # type: ignore[list-item]
    assert error.codes == ("6240", "2010")
    assert error.code == "6240"
    assert QBOError("none").code is None


def test_a_single_code_string_is_one_code() -> None:
    """Passing one code as a plain string keeps it whole rather than splitting it into digits."""
    error = errors.StaleObjectError("Stale Object Error", codes="5010")
    assert error.codes == ("5010",)
    assert error.code == "5010"


def test_qbo_token_expired_detail_is_redacted() -> None:
    """QBO's gateway detail that echoes part of the token loses the token in the error."""
    fragment = "AB01601390262kxzxHhmQ9kD7nBv3wR2pQ"
    error = AccessTokenInvalidError(
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        status=401,
        codes=["3200"],
        detail=f"Token expired: {fragment}",
    )
    assert fragment not in str(error)
    assert fragment not in repr(error)
    assert error.detail == "Token expired: <redacted>"
    assert "errorCode=003200" in error.message


@given(TOKENS)
def test_messages_and_details_are_redacted(token: str) -> None:
    """A bearer token in a message or detail never survives into the error."""
    error = QBOError(f"sent Authorization: Bearer {token}", detail=f'{{"access_token": "{token}"}}')
    assert token not in error.message
    assert token not in (error.detail or "")
    assert token not in str(error)
    assert token not in str(error.args)


def test_decode_error_body_excerpt_is_redacted() -> None:
    """The body excerpt kept for diagnosis has its tokens removed."""
    error = DecodeError(
        "not JSON", body_excerpt='{"refresh_token":"AB11760000000xyzxyzxyzxyz"', status=200
    )
    assert error.body_excerpt == '{"refresh_token":"<redacted>"'
    assert error.status == 200


def test_errors_bound_their_texts() -> None:
    """An error's `message`, `detail` and `body_excerpt` are cut at MAX_TEXT_CHARS, marked."""
    huge = "z" * (10 * errors.MAX_TEXT_CHARS)
    error = DecodeError(huge, detail=huge, body_excerpt=huge)
    for text in (error.message, error.detail, error.body_excerpt):
        assert text == "z" * errors.MAX_TEXT_CHARS + f"…[truncated: {len(huge)} characters]"
    assert len(str(error)) < 3 * errors.MAX_TEXT_CHARS


def test_specialised_errors_keep_their_own_data() -> None:
    """Errors with extra data (conflict versions, lock name, config field) expose it."""
    conflict = ConflictError("lost", expected=3, actual=4, realm_id="9130")
    assert (conflict.expected, conflict.actual, conflict.realm_id) == (3, 4, "9130")
    lock = LockTimeoutError("busy", name="refresh:9130", waited=5.0)
    assert (lock.name, lock.waited) == ("refresh:9130", 5.0)
    config = ConfigurationError("client_id missing", field="client_id")
    assert config.field == "client_id"
    unavailable = errors.StoreUnavailableError("no answer", backend="redis")
    assert (unavailable.backend, unavailable.retryable) == ("redis", True)


def test_errors_can_be_caught_by_branch() -> None:
    """A read timeout is caught as an outcome-unknown transport error and as a QBOError."""
    with pytest.raises(errors.OutcomeUnknownError):
        raise ReadTimeoutError("no answer in 60 s")
    with pytest.raises(QBOError):
        raise errors.TokenRevokedError("revoked")
    assert issubclass(errors.TokenRevokedError, errors.ReauthorizationRequiredError)


def test_every_error_survives_pickling_with_its_context() -> None:
    """Errors cross process boundaries intact, including subclasses with required keywords."""
    import pickle

    from qbo_core import errors as tree

    samples: list[tree.QBOError] = [
        tree.ThrottledError("slow down", status=429, codes=["3001"], retry_after=60.0),
        tree.LockTimeoutError("busy", name="refresh:1", waited=2.5, realm_id="1"),
        tree.ConflictError("lost", expected=3, actual=4),
        tree.ConfigurationError("bad", field="minor_version"),
        tree.StoreUnavailableError("no answer", backend="redis"),
        tree.DecodeError("not json", body_excerpt="<html>", status=502),
        tree.ResponseTooLargeError("too big", max_bytes=10, body_excerpt="{", status=200),
    ]
    for error in samples:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert copy.__dict__ == error.__dict__
        assert str(copy) == str(error)


def test_operation_and_attempts_are_named_in_the_text_and_survive_pickling() -> None:
    """An error annotated by smart sync says what failed and after how many attempts,
    next to QBO's last answer, and keeps both across a process boundary."""
    import pickle

    error = errors.ServerError(
        "System Failure Error",
        status=503,
        codes=("10000",),
        intuit_tid="tid-1",
        realm_id="123",
        operation="create Invoice",
        attempts=4,
    )
    text = str(error)
    assert "operation=create Invoice" in text
    assert "attempts=4" in text
    assert "status=503" in text
    assert "intuit_tid=tid-1" in text
    assert "realm=123" in text
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.operation, copy.attempts) == ("create Invoice", 4)


def test_an_error_args_are_its_redacted_message_before_and_after_pickling() -> None:
    """`args` (what tracebacks and loggers fall back on) holds the redacted message, and an
    error rebuilt from a pickle has the same `args`."""
    import pickle

    error = errors.ConfigurationError("bad Bearer abcdefghijklmnop", field="client_id")
    assert error.args == ("bad Bearer <redacted>",)
    copy = pickle.loads(pickle.dumps(error))
    assert copy.args == ("bad Bearer <redacted>",)


def test_str_joins_several_codes_with_commas() -> None:
    """Every QBO code shows in str(), comma-separated, in the order QBO sent them."""
    error = errors.ValidationError("two faults", codes=["6240", "2010"])
    assert str(error) == "two faults [code=6240,2010]"


def test_str_shows_a_detail_only_when_it_adds_to_the_message() -> None:
    """A detail equal to the message is not repeated; an empty detail is left out."""
    assert str(QBOError("Stale Object", detail="Stale Object")) == "Stale Object"
    assert str(QBOError("Stale Object", detail="")) == "Stale Object"


def test_str_names_operation_and_attempts_first() -> None:
    """An annotated error's context reads operation, attempts, then QBO's answer."""
    error = errors.ServerError("fail", status=503, operation="read Customer", attempts=3)
    assert str(error) == "fail [operation=read Customer attempts=3 status=503]"


def test_errors_with_their_own_data_keep_the_common_context_too() -> None:
    """Every error with extra keywords still takes status, codes, realm and the rest."""
    samples: list[QBOError] = [
        ConfigurationError("bad", field="client_id", realm_id="9130", status=400),
        LockTimeoutError("busy", name="refresh:9130", waited=1.0, realm_id="9130", status=400),
        errors.StoreUnavailableError("down", backend="redis", realm_id="9130", status=400),
        errors.WebhookPayloadError("bad body", reason="not JSON", realm_id="9130", status=400),
        errors.ResponseTooLargeError("big", max_bytes=10, realm_id="9130", status=400),
        ConflictError("lost", expected=1, actual=2, realm_id="9130", status=400),
        DecodeError("odd", body_excerpt="<", realm_id="9130", status=400),
    ]
    for error in samples:
        assert (error.realm_id, error.status) == ("9130", 400), type(error).__name__
        assert str(error).endswith("[status=400 realm=9130]"), type(error).__name__


def test_a_webhook_payload_error_says_why_in_reason() -> None:
    """A refused webhook body keeps its message and a short `reason`, and is a DecodeError
    that is not retried."""
    error = errors.WebhookPayloadError("webhook body is not a notification", reason="not JSON")
    assert error.message == "webhook body is not a notification"
    assert error.reason == "not JSON"
    assert isinstance(error, DecodeError)
    assert error.retryable is False


def test_a_response_too_large_error_keeps_its_limit_and_excerpt() -> None:
    """The size limit that was passed and the redacted start of the body are kept."""
    error = errors.ResponseTooLargeError(
        "body over 10 bytes", max_bytes=10, body_excerpt='{"access_token":"abcdefgh"', status=200
    )
    assert error.max_bytes == 10
    assert error.body_excerpt == '{"access_token":"<redacted>"'
    assert error.status == 200


def test_a_decode_error_without_an_excerpt_has_none() -> None:
    """No body excerpt given means `body_excerpt` is None, not an empty or made-up text."""
    assert DecodeError("not JSON").body_excerpt is None
    assert QBOError("x").detail is None
