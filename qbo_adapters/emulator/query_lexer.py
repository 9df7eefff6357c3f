"""Tokens of QBO's query language, and the fault every query error raises.

QBO parses queries with a JavaCC grammar, so its errors read like JavaCC's: a lexical
error (a character no token starts with, a string that never closes) is::

    QueryParserError: Invalid content. Lexical error at line 1, column 44.  Encountered:
    "%" (37), after : ""

(on one line; pbrink231/quickbooks-node-promise issue #1), and a token in the wrong place is::

    QueryParserError: Encountered " <IDENTIFIER> "R "" at line 1, column 52.
    Was expecting one of:
        <EOF> ...

(mcohen01/node-quickbooks issue #56). Both are code 4000 "Error parsing query". Lines and
columns are 1-based; a column counts code points (Java would count UTF-16 units, so an
emoji earlier on the line shifts QBO's column by one more than ours).

Token kinds: keywords (case-insensitive), `<IDENTIFIER>` (a name, dots allowed for nested
properties: `MetaData.LastUpdatedTime`), `<STRING>` (single quotes; `\'` is a quote and
`\\` a backslash, any other backslash is kept as written), `<INTEGER>`, `<DECIMAL>` (an
optional leading minus), operators and punctuation. Whitespace (space, tab, CR, LF, FF)
separates tokens anywhere; any Unicode is fine inside a string, and only there.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator

import attrs

__all__ = [
    "Kind",
    "QueryFault",
    "Token",
    "iter_tokens",
    "java_escape",
    "position",
    "tokenize",
]


class QueryFault(Exception):
    """A query QBO refuses: rendered by the emulator as a 400 `ValidationFault`.

    `code` is "4000" (could not be parsed: "Error parsing query"), "4001" (parsed but
    invalid: "Invalid query") or "4002" (valid but could not be run: "Error processing
    query"); `detail` carries QBO's `QueryParserError:` / `QueryValidationError:` /
    `QueryProcessingError:` text.
    """

    def __init__(self, code: str, message: str, detail: str) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueryFault):
            return NotImplemented
        return (self.code, self.message, self.detail) == (other.code, other.message, other.detail)

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.detail))

    @classmethod
    def parse_error(cls, detail: str) -> QueryFault:
        """A 4000 "Error parsing query" fault."""
        return cls("4000", "Error parsing query", f"QueryParserError: {detail}")

    @classmethod
    def invalid(cls, detail: str) -> QueryFault:
        """A 4001 "Invalid query" fault."""
        return cls("4001", "Invalid query", f"QueryValidationError: {detail}")

    @classmethod
    def unprocessable(cls, detail: str) -> QueryFault:
        """A 4002 "Error processing query" fault."""
        return cls("4002", "Error processing query", f"QueryProcessingError: {detail}")


class Kind(enum.Enum):
    """A token kind; `value` is the name QBO's error messages print for it."""

    EOF = "<EOF>"
    IDENTIFIER = "<IDENTIFIER>"
    STRING = "<STRING>"
    INTEGER = "<INTEGER>"
    DECIMAL = "<DECIMAL>"
    AND = "<AND>"
    OR = "<OR>"
    SELECT = '"select"'
    FROM = '"from"'
    WHERE = '"where"'
    ORDER = '"order"'
    BY = '"by"'
    ORDERBY = '"orderby"'
    ASC = '"asc"'
    DESC = '"desc"'
    STARTPOSITION = '"startposition"'
    MAXRESULTS = '"maxresults"'
    IN = '"in"'
    LIKE = '"like"'
    COUNT = '"count"'
    TRUE = '"true"'
    FALSE = '"false"'
    CURRENT_DATE = '"current_date"'
    EQ = '"="'
    NE = '"!="'
    LT = '"<"'
    LE = '"<="'
    GT = '">"'
    GE = '">="'
    LPAREN = '"("'
    RPAREN = '")"'
    COMMA = '","'
    STAR = '"*"'

    @property
    def sort_name(self) -> str:
        """The lower-case name without brackets or quotes: QBO lists expectations by it."""
        return self.value[1:-1].lower()


_KEYWORDS: dict[str, Kind] = {
    kind.sort_name: kind
    for kind in (
        Kind.AND,
        Kind.OR,
        Kind.SELECT,
        Kind.FROM,
        Kind.WHERE,
        Kind.ORDER,
        Kind.BY,
        Kind.ORDERBY,
        Kind.ASC,
        Kind.DESC,
        Kind.STARTPOSITION,
        Kind.MAXRESULTS,
        Kind.IN,
        Kind.LIKE,
        Kind.COUNT,
        Kind.TRUE,
        Kind.FALSE,
        Kind.CURRENT_DATE,
    )
}

_SYMBOLS: dict[str, Kind] = {
    "=": Kind.EQ,
    "!=": Kind.NE,
    "<": Kind.LT,
    "<=": Kind.LE,
    ">": Kind.GT,
    ">=": Kind.GE,
    "(": Kind.LPAREN,
    ")": Kind.RPAREN,
    ",": Kind.COMMA,
    "*": Kind.STAR,
}

# One alternative per character class, so a string that never closes fails in linear time.
_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f]+)
    | (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<number>-?[0-9]+(?P<fraction>\.[0-9]+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<symbol><=|>=|!=|[=<>(),*])
    """,
    re.VERBOSE | re.DOTALL | re.ASCII,
)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@attrs.frozen
class Token:
    """One token: its kind, its text as written, and its offset in the query."""

    kind: Kind
    image: str
    offset: int

    @property
    def text(self) -> str:
        """A `<STRING>`'s value with its quotes removed and escapes resolved, else the image.

        `\\'` is a quote and `\\\\` a backslash; a backslash before any other character is
        kept with it (`'a\\nb'` is the four characters a, backslash, n, b).
        """
        if self.kind is not Kind.STRING:
            return self.image
        return _ESCAPE.sub(_unescape, self.image[1:-1])


def _unescape(match: re.Match[str]) -> str:
    char = match.group(1)
    return char if char in "'\\" else match.group(0)


def tokenize(text: str) -> list[Token]:
    """All of `text`'s tokens, ending with one `EOF` token.

    Raises `QueryFault` 4000 (a JavaCC-style lexical error) at the first character that
    starts no token, or at the end of a string that never closes.
    """
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[Token]:
    """`tokenize`, lazily: a lexical error surfaces only when the parser reaches it.

    QBO's parser pulls tokens as it goes, so a misplaced token is reported even when the
    text after it would not lex (`'Cutlery 'R Us'` fails at `R`, not at the last quote).
    """
    offset, end = 0, len(text)
    match = _TOKEN.match
    while offset < end:
        found = match(text, offset)
        if found is None:
            raise _lexical_error(text, offset)
        group = found.lastgroup
        image = found.group()
        if group == "name":
            kind = _KEYWORDS.get(image.lower(), Kind.IDENTIFIER)
        elif group == "string":
            kind = Kind.STRING
        elif group == "number":
            kind = Kind.DECIMAL if found.group("fraction") else Kind.INTEGER
        elif group == "symbol":
            kind = _SYMBOLS[image]
        else:
            offset = found.end()
            continue
        yield Token(kind, image, offset)
        offset = found.end()
    yield Token(Kind.EOF, "", end)


def _lexical_error(text: str, offset: int) -> QueryFault:
    if text[offset] == "'":
        # A string that never closes: JavaCC reports the end of input, after the string.
        line, column = position(text, max(len(text) - 1, 0))
        seen = f'<EOF> after : "{java_escape(text[offset:])}"'
    elif text[offset] == "-":
        # A minus that starts no number: JavaCC has already read it as a prefix.
        line, column = position(text, min(offset + 1, len(text) - 1))
        after = text[offset + 1 : offset + 2]
        seen = f'{_describe_char(after)}after : "-"' if after else '<EOF> after : "-"'
    else:
        line, column = position(text, offset)
        seen = f'{_describe_char(text[offset])}after : ""'
    return QueryFault.parse_error(
        f"Invalid content. Lexical error at line {line}, column {column}.  Encountered: {seen}"
    )


def _describe_char(char: str) -> str:
    return f'"{java_escape(char)}" ({ord(char)}), '


def position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of `offset`; CR, LF and CRLF each end a line."""
    line = 1
    line_start = 0
    for found in _LINE_BREAK.finditer(text, 0, offset):
        line += 1
        line_start = found.end()
    return line, offset - line_start + 1


def java_escape(text: str) -> str:
    """`text` escaped as JavaCC's `addEscapes` does in its error messages.

    Backspace, tab, LF, FF, CR, both quotes and the backslash get a backslash; any other
    character outside printable ASCII becomes `\\uXXXX` per UTF-16 unit.
    """
    out: list[str] = []
    for char in text:
        escaped = _JAVA_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif " " <= char <= "~":
            out.append(char)
        else:
            data = char.encode("utf-16-be")
            out.extend(
                f"\\u{int.from_bytes(data[i : i + 2], 'big'):04x}" for i in range(0, len(data), 2)
            )
    return "".join(out)


_JAVA_ESCAPES = {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "'": "\\'",
    "\\": "\\\\",
}
