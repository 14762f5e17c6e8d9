import { isPlainObject } from './is-plain-object.js';

/**
 * What an error message says a refused value is: `undefined`, `null`, `a string ("abc")`,
 * `a boolean (true)`, `a bigint (12n)`, `a symbol (Symbol(x))`, `a function`, `an array`,
 * `an object` (`an object (Map)` when it is not a plain object), `a number (NaN)`.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return `a string (${clip(JSON.stringify(value))})`;
    case 'number':
    case 'boolean':
      return `a ${typeof value} (${String(value)})`;
    case 'bigint':
      return `a bigint (${clip(String(value))}n)`;
    case 'symbol':
      return `a symbol (${clip(value.toString())})`;
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      return isPlainObject(value) ? 'an object' : `an object (${className(value as object)})`;
  }
}

function className(value: object): string {
  const ctor: unknown = (value as { constructor?: unknown }).constructor;
  const name = typeof ctor === 'function' ? ctor.name : '';
  return name === '' ? 'with a prototype' : name;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}
