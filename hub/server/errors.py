"""Every refusal is JSON `{"error": <reason code>, "detail": <explanation>}` with a fitting 4xx."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.errors import ProtocolError

STATUS_BY_REASON = {
    errors.MALFORMED: 400,
    errors.UNSUPPORTED_VERSION: 400,
    errors.UNAUTHENTICATED: 401,
    errors.UNKNOWN_KEY: 401,
    errors.BAD_SIGNATURE: 401,
    errors.TIMESTAMP_TOO_OLD: 401,
    errors.TIMESTAMP_IN_FUTURE: 401,
    errors.REVOKED_KEY: 403,
    errors.HOME_REVOKED: 403,
    errors.KEY_NOT_YOURS: 403,
    errors.WRONG_KEY_KIND: 403,
    errors.UNKNOWN_JOIN_CODE: 404,
    errors.USED_JOIN_CODE: 409,
    errors.EXPIRED_JOIN_CODE: 410,
    errors.DUPLICATE_KEY: 409,
    errors.DUPLICATE_METER_NAME: 422,
    errors.REPLAY: 409,
    errors.GATE_CLOSED: 409,
    errors.OUT_OF_BOUNDS: 422,
    errors.NOT_MONOTONE: 422,
    errors.CURVES_CROSS: 422,
    errors.INTERVAL_MISALIGNED: 422,
    errors.INTERVAL_TOO_FAR: 422,
    errors.REGISTER_DECREASED: 422,
    errors.TIME_WENT_BACKWARDS: 422,
    errors.WRONG_MARKET_MODE: 409,
    errors.DUPLICATE_ORDER: 409,
    errors.UNKNOWN_ORDER: 404,
    errors.NOT_CONFIGURED: 404,
    errors.LEDGER_DISABLED: 404,
    errors.LEDGER_STARTING: 503,
    errors.UNKNOWN_BLOCK: 404,
    errors.UNKNOWN_VALIDATOR: 404,
    errors.UNKNOWN_CERTIFICATE: 404,
    errors.UNKNOWN_ACCOUNT: 404,
    errors.BAD_BLOCK_SIGNATURE: 401,
    errors.BAD_PROOF_OF_POSSESSION: 401,
    errors.VALIDATOR_NOT_ACTIVE: 403,
    errors.DUPLICATE_VALIDATOR: 409,
    errors.DOUBLE_MINT: 409,
    errors.ALREADY_SETTLED: 409,
    errors.ALREADY_RETIRED: 409,
    errors.INSUFFICIENT_TOKENS: 409,
    errors.NOT_GREEN: 422,
    errors.INVALID_ENTRY: 422,
}
NOT_FOUND = "not_found"
# Stable codes for aiohttp's own refusals, independent of its reason phrases.
HTTP_STATUS_CODES = {
    404: NOT_FOUND,
    405: "method_not_allowed",
    413: "content_too_large",
}


def error_response(status: int, reason: str, detail: str) -> web.Response:
    return web.json_response({"error": reason, "detail": detail}, status=status)


def protocol_error_response(err: ProtocolError) -> web.Response:
    return error_response(STATUS_BY_REASON.get(err.reason, 400), err.reason, err.detail)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn protocol errors and aiohttp's own HTTP errors into the JSON error shape."""
    try:
        return await handler(request)
    except ProtocolError as err:
        return protocol_error_response(err)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        reason = HTTP_STATUS_CODES.get(err.status, "http_error")
        response = error_response(err.status, reason, err.text or err.reason)
        if "Allow" in err.headers:  # 405: the methods the resource does serve (RFC 9110)
            response.headers["Allow"] = err.headers["Allow"]
        return response
