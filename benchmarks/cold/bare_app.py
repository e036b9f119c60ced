"""Cold-start subject: the handler with no observability library."""


def _downstream(x: int) -> int:
    return x * 7


def handler(event, context):  # type: ignore[no-untyped-def]
    return {"statusCode": 200, "total": _downstream(3)}
