"""The one error class of swanlog, with the closed code table of `@swanlog/protocol`."""

from __future__ import annotations

ERROR_CODES = frozenset(
    {
        "INVALID_OPTION",
        "INVALID_RUN_ID",
        "INVALID_VALUE",
        "BAD_REQUEST",
        "UNAUTHORIZED",
        "FORBIDDEN",
        "READ_ONLY",
        "RUN_NOT_FOUND",
        "NOT_FOUND",
        "RUN_EXISTS",
        "RUN_DIVERGED",
        "RUN_FINISHED",
        "CONFLICT",
        "EXPERIMENT_DELETED",
        "PAYLOAD_TOO_LARGE",
        "RUN_DIR_CORRUPT",
        "UNSUPPORTED_FORMAT",
        "CHECKPOINT_CORRUPT",
        "STORAGE_FULL",
        "STORAGE_READ_ONLY",
        "SERVER_UNREACHABLE",
        "NO_RUNS",
        "SERVER_ERROR",
    }
)


class SwanlogError(Exception):
    """`code` is from the closed table, the message names the run id, key or path, `hint` says what to do."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown swanlog error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} (hint: {self.hint})"

    def to_json(self) -> dict:
        out = {"code": self.code, "message": self.message}
        if self.hint is not None:
            out["hint"] = self.hint
        return out


def storage_error(error: BaseException, path: str, action: str, hints: dict[str, str] | None = None) -> BaseException:
    """Maps an sqlite3/OS failure to STORAGE_FULL / STORAGE_READ_ONLY; other errors pass through."""
    if isinstance(error, SwanlogError):
        return error
    text = str(error).lower()
    errno = getattr(error, "errno", None)
    code = None
    if "database or disk is full" in text or errno == 28:
        code = "STORAGE_FULL"
    elif "readonly" in text or "read-only" in text or errno in (13, 30, 1):
        code = "STORAGE_READ_ONLY"
    if code is None:
        return error
    default = {
        "STORAGE_FULL": "free space on that volume, then try again",
        "STORAGE_READ_ONLY": "make the directory writable for this user, or point logdir (SWANLOG_LOGDIR) elsewhere",
    }[code]
    wrapped = SwanlogError(code, f"cannot {action} {path}: {error}", (hints or {}).get(code, default))
    wrapped.__cause__ = error
    return wrapped
