const NON_FINITE: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/** Strings in the JSON text, and the bare tokens Python's json writes for non-finite floats. */
const TOKENS = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;
const MARK = '\u0000swanlog-nonfinite:';
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * Parses JSON as Python's `json.dumps` writes it, where NaN and ±Infinity are bare tokens
 * (`NaN`, `Infinity`, `-Infinity`); undefined when the text is not JSON.
 */
export function parsePythonJson(text: string): unknown {
  const direct = NON_FINITE[text.trim()];
  if (direct !== undefined) return direct;
  // Most history values are plain numbers: Number() is exact for JSON numbers and far cheaper.
  if (NUMBER.test(text)) return Number(text);
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  const quoted = text.replace(TOKENS, (t) => (t.startsWith('"') ? t : JSON.stringify(MARK + t)));
  try {
    return JSON.parse(quoted, (_key, value: unknown) =>
      typeof value === 'string' && value.startsWith(MARK) ? NON_FINITE[value.slice(MARK.length)] : value,
    );
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return undefined;
  }
}
