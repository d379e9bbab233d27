"""Query, path and body parsing with clear 400 answers.

The OpenAPI document's path and query parameters are the rule: `parameters_middleware` refuses a
value that breaks its documented schema (bounds, pattern, enum) or a query parameter given twice,
before any handler runs; the handlers' own parsing below then never meets such a value.

Every text a request carries (JSON body, path and query parameters) is refused with 400
`malformed`, naming the field, when it holds what no database can store: U+0000 (PostgreSQL text
cannot hold it) or a lone UTF-16 surrogate (no UTF-8 encoder writes it). Checked here, before any
handler, so nothing of the kind ever reaches the store.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from gridcoop_home.protocol.errors import MALFORMED, ProtocolError

from hub.server.errors import Handler

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ProtocolError(MALFORMED, f"query parameter {name!r} must be an integer") from err
    if not low <= value <= high:
        raise ProtocolError(MALFORMED, f"query parameter {name!r} must be within {low}-{high}")
    return value


MAX_INTERVAL_START = 2**40  # UTC seconds: far beyond any real date, far inside int64
MAX_UTC_MS = 2**53  # UTC milliseconds in a query
MAX_INTERVALS_LISTED = 3000  # GET /api/v1/market/intervals?limit=
MAX_TARIFF_INTERVALS = 400  # GET /api/v1/market/tariffs?intervals=


def interval_path_param(request: web.Request) -> int:
    try:
        value = int(request.match_info["interval_start"])
    except ValueError as err:
        raise ProtocolError(MALFORMED, "interval_start must be UTC seconds") from err
    if not 0 <= value <= MAX_INTERVAL_START:
        raise ProtocolError(MALFORMED, f"interval_start must be within 0-{MAX_INTERVAL_START}")
    return value


def json_body(body: bytes) -> Any:
    """The request body as JSON (UTF-8, RFC 8259), with no text the store could not hold."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProtocolError(MALFORMED, f"body is not UTF-8: {err}") from err
    try:
        value = json.loads(text, parse_float=json_number)
    except ValueError as err:
        raise ProtocolError(MALFORMED, f"body is not valid JSON: {err}") from err
    except RecursionError as err:
        raise ProtocolError(MALFORMED, "body is nested too deeply") from err
    # Valid UTF-8 holds neither; in JSON text only a \u escape makes one.
    if "\\u" in text:
        problem = unstorable_field(value)
        if problem is not None:
            raise ProtocolError(MALFORMED, problem)
    return value


def json_number(text: str) -> int | float:
    """A JSON number written with a fraction or exponent: the integer it equals, if it is one
    (JSON has one number two, `2` and `2.0` both spell it, and the document's integers admit
    both), else a float, which integer fields refuse."""
    number = Decimal(text)
    if number.adjusted() < 19 and number == number.to_integral_value():
        return int(number)
    return float(text)


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains U+0000 (NUL)"
    return f"contains a lone surrogate (U+{ord(found.group()):04X})"


def unstorable_field(value: Any) -> str | None:
    """The first field of a decoded JSON document whose name or text cannot be stored, as
    '<path>: <why>' (e.g. `meters[0].name: contains U+0000 (NUL)`), or None. Walks without
    recursion: whatever depth json.loads managed, this manages too."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return f"{_shown(path or 'body')}: {problem}"
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                problem = text_problem(key)
                if problem is not None:
                    return f"{_shown(path or 'body')}: a field name {problem}"
                children.append((child, f"{path}.{key}" if path else key))
            stack.extend(reversed(children))  # popped in document order
        elif isinstance(item, list):
            stack.extend(reversed([(child, f"{path}[{i}]") for i, child in enumerate(item)]))
    return None


def _shown(path: str, limit: int = 200) -> str:
    return path if len(path) <= limit else path[: limit - 3] + "..."


# -- path and query parameters, checked against the OpenAPI document ------------------------------

# ASCII digits only: int() would also read " 1", "+1", "1_0" and other scripts' digits.
_INTEGER = re.compile(r"-?[0-9]+")
Rules = dict[tuple[str, str], tuple["Parameter", ...]]


@dataclass(frozen=True, slots=True)
class Parameter:
    """One documented path or query parameter and the schema its value must meet (the subset
    of JSON Schema the document uses for parameters: integer bounds, string pattern and
    length, enum)."""

    name: str
    location: str  # "path" or "query"
    schema: dict[str, Any]

    def check(self, raw: str) -> None:
        problem = text_problem(raw) or self.problem(raw)
        if problem is not None:
            label = f"query parameter {self.name!r}" if self.location == "query" else self.name
            raise ProtocolError(MALFORMED, f"{label} {problem}")

    def problem(self, raw: str) -> str | None:
        schema = self.schema
        if "enum" in schema:
            allowed = [str(value) for value in schema["enum"]]
            return None if raw in allowed else f"must be one of {', '.join(allowed)}"
        if schema.get("type") == "integer":
            low, high = schema["minimum"], schema["maximum"]
            if not _INTEGER.fullmatch(raw):
                return "must be an integer"
            if len(raw) > 30 or not low <= int(raw) <= high:
                return f"must be within {low}-{high}"
            return None
        if not schema.get("minLength", 0) <= len(raw) <= schema.get("maxLength", len(raw)):
            return f"must be {schema.get('minLength', 0)}-{schema['maxLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], raw):
            return f"must match {schema['pattern']}"
        return None


def parameter_rules(document: dict[str, Any]) -> Rules:
    """(method, route template) -> the documented path and query parameters of that operation."""
    rules: Rules = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            rules[(method.upper(), path)] = tuple(
                Parameter(parameter["name"], parameter["in"], parameter["schema"])
                for parameter in operation.get("parameters", ())
                if parameter["in"] in ("path", "query")
            )
    return rules


def check_parameters(request: web.Request, rules: Rules) -> None:
    """Refuse, before any handler reads them, documented path and query parameters that break
    the document: a value the store cannot hold, a query parameter given twice, a value outside
    its schema. Undocumented query parameters are never read, so never refused."""
    resource = request.match_info.route.resource
    if resource is None:  # no route: the handler answers 404 or 405
        return
    method = "GET" if request.method == "HEAD" else request.method
    for parameter in rules.get((method, resource.canonical), ()):
        if parameter.location == "path":
            values = [request.match_info[parameter.name]]
        else:
            values = request.query.getall(parameter.name, [])
            if len(values) > 1:
                raise ProtocolError(
                    MALFORMED, f"query parameter {parameter.name!r} is given more than once"
                )
        for value in values:
            parameter.check(value)


def parameters_middleware(rules: Rules) -> Middleware:
    """Goes inside error_middleware: a refusal becomes the usual 400 `malformed`."""

    @web.middleware
    async def checked(request: web.Request, handler: Handler) -> web.StreamResponse:
        check_parameters(request, rules)
        return await handler(request)

    return checked
