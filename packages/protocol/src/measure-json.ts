/** How deep and how large a JSON text is, counted on its bytes before parsing. */
export interface JsonMeasure {
  /** Deepest nesting of arrays and objects. */
  depth: number;
  /**
   * Objects, arrays and separators (`{`, `[` and `,` outside strings): about the number of values
   * JSON.parse would build, which is what its time and memory grow with.
   */
  values: number;
}

/**
 * Measures JSON text in one pass over its bytes, without parsing it, so a body can be refused
 * before JSON.parse spends seconds and gigabytes on it. Counting stops (and what was counted so
 * far is answered) once the depth passes `stopAt.depth` or the values pass `stopAt.values`: enough
 * to refuse it.
 *
 * ```ts
 * measureJson(Buffer.from('{"a":[1,2]}')); // { depth: 2, values: 3 }
 * ```
 */
export function measureJson(text: Uint8Array, stopAt: { depth?: number; values?: number } = {}): JsonMeasure {
  const maxDepth = stopAt.depth ?? Number.POSITIVE_INFINITY;
  const maxValues = stopAt.values ?? Number.POSITIVE_INFINITY;
  let depth = 0;
  let deepest = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i]!;
    if (inString) {
      if (byte === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      depth++;
      values++;
      if (depth > deepest) deepest = depth;
      if (deepest > maxDepth || values > maxValues) break;
    } else if (byte === 0x5d || byte === 0x7d) depth--;
    else if (byte === 0x2c) {
      values++;
      if (values > maxValues) break;
    }
  }
  return { depth: deepest, values };
}
