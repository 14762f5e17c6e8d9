"""The rules for what `log()` takes: keys, values, nested dicts (the same rules as the TS SDK)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

from ._errors import SwanlogError

MAX_NAME_LENGTH = 255
# C0 and C1 control characters, and surrogates: a str can hold a lone surrogate, which SQLite's
# UTF-8 cannot store (it would read back as another key).
_BAD_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT = (str, bytes, bytearray)


def utf16_length(s: str) -> int:
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


def is_valid_name(s: object) -> bool:
    """1-255 UTF-16 code units, well-formed (no lone surrogate), no control characters."""
    return isinstance(s, str) and 0 < len(s) and utf16_length(s) <= MAX_NAME_LENGTH and not _BAD_CHARS.search(s)


def show(value: object) -> str:
    if isinstance(value, str):
        try:
            return json.dumps(value, ensure_ascii=False)
        except ValueError:
            return repr(value)
    return repr(value)


def describe_value(value: object) -> str:
    """What a refused value is, for the error message."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"a string ({show(value)})"
    if isinstance(value, (bytes, bytearray)):
        return f"bytes ({value[:20]!r})"
    if isinstance(value, complex):
        return f"a complex number ({value!r})"
    if isinstance(value, int):
        return f"an integer too large for a float64 ({value})"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"an array of shape {tuple(shape)} ({type(value).__name__})"
    return f"an object ({type(value).__name__})"


def invalid_key(run_id: str, key: object) -> SwanlogError:
    if not isinstance(key, str):
        return SwanlogError(
            "INVALID_VALUE",
            f"run {run_id}: metric key {key!r} is {type(key).__name__}, not a string",
            'name the metric with a string, e.g. run.log({"train/loss": 0.25})',
        )
    return SwanlogError(
        "INVALID_VALUE",
        f"run {run_id}: metric key {show(key)} is not a valid key",
        'a key is 1-255 characters of well-formed text (no lone surrogate) without control characters, e.g. "train/loss"',
    )


def invalid_value(run_id: str, key: str, value: object) -> SwanlogError:
    return SwanlogError(
        "INVALID_VALUE",
        f"run {run_id}: value of key {show(key)} is {describe_value(value)}; log() takes numbers",
        "convert the value to a number (NaN and Infinity are fine; True/False log as 1/0), or log it as config instead",
    )


def to_float(value: object) -> float | None:
    """The float64 a value logs as, None when it is not a number (int, float, bool, numpy, torch)."""
    t = type(value)
    if t is float:
        return value  # type: ignore[return-value]
    if isinstance(value, _TEXT) or value is None or isinstance(value, (complex, Mapping)):
        return None
    if not isinstance(value, (int, float)):
        item = getattr(value, "item", None)
        if callable(item):
            # numpy scalars and arrays, torch tensors: .item() of one element (float() of a
            # tensor that needs grad would warn about autograd).
            try:
                value = item()
            except (TypeError, ValueError, RuntimeError):
                return None
            if isinstance(value, (complex, _TEXT)) or value is None:
                return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def flatten(data: Mapping) -> tuple[list[tuple[object, object]], dict[object, int]]:
    """(key, value) pairs with nested mappings joined by '/', depth first in key order, and the
    keys given more than once (with their counts).

    A flattened key that equals a literal one (or another flattened one) of the same call is a
    collision: neither is logged, since which one was meant cannot be told.
    """
    pairs: list[tuple[object, object]] = []
    _walk(data, None, pairs)
    seen: dict[object, int] = {}
    for key, _ in pairs:
        seen[key] = seen.get(key, 0) + 1
    if len(seen) == len(pairs):
        return pairs, {}
    dupes = {k: c for k, c in seen.items() if c > 1}
    return [(k, v) for k, v in pairs if k not in dupes], dupes


def collision(run_id: str, key: object, count: int) -> SwanlogError:
    return SwanlogError(
        "INVALID_VALUE",
        f"run {run_id}: metric key {show(key)} is given {count} times in one log() call (nested dicts flatten with '/')",
        'give each metric one name: {"a/b": 1} and {"a": {"b": 2}} are the same key',
    )


def _walk(data: Mapping, prefix: str | None, out: list) -> None:
    for key, value in data.items():
        if prefix is not None and isinstance(key, str):
            key = f"{prefix}/{key}"
        # A key that is not a string stays as it is (refused as a key), nested or not.
        if isinstance(value, Mapping) and isinstance(key, str):
            _walk(value, key, out)
        else:
            out.append((key, value))


def check_finite_json(value: object, at: str) -> object:
    """A config value as stored: plain JSON (dict keys as strings), INVALID_VALUE otherwise."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if _has_surrogate(value):
            raise SwanlogError(
                "INVALID_VALUE",
                f"{at} is a string ({value!r}), which is not well-formed text",
                "a lone surrogate (half of an emoji, say) would be shown as U+FFFD; fix or drop it",
            )
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SwanlogError("INVALID_VALUE", f"{at} is {value}, which JSON cannot hold", 'store it as a string, e.g. "NaN", or leave it out')
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if isinstance(k, bool) or not isinstance(k, (str, int, float)) or k is None:
                raise SwanlogError("INVALID_VALUE", f"{at} has a key {k!r}, which JSON cannot hold", "config keys are strings")
            name = k if isinstance(k, str) else json.dumps(k)
            if _has_surrogate(name):
                raise SwanlogError(
                    "INVALID_VALUE",
                    f"config key {name!r} is not well-formed text",
                    "a lone surrogate (half of an emoji, say) would be shown as U+FFFD; fix or drop the key",
                )
            out[name] = check_finite_json(v, f"{at}.{name}")
        return out
    if isinstance(value, (list, tuple)):
        return [check_finite_json(v, f"{at}.{i}") for i, v in enumerate(value)]
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return check_finite_json(item(), at)
    raise SwanlogError(
        "INVALID_VALUE",
        f"{at} is {describe_value(value)}, which JSON cannot hold",
        "config values are strings, numbers, booleans, None, lists and dicts",
    )


def _has_surrogate(s: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in s)
