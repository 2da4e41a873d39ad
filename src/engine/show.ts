/** Echoing untrusted values in error messages: short, one line, never the whole of a huge field. */

const MAX_ECHO = 64;

// Bounded rendering: a 50 MB string or a million-element array costs a few characters, not a copy.
function render(v: unknown, budget: number, depth: number): string {
  if (typeof v === 'string') return JSON.stringify(v.length > budget ? v.slice(0, budget) : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v !== 'object') return typeof v;
  if (depth > 2) return Array.isArray(v) ? '[…]' : '{…}';
  const parts: string[] = [];
  let used = 0;
  const entries: Array<[string | undefined, unknown]> = Array.isArray(v)
    ? v.slice(0, 8).map((x) => [undefined, x])
    : Object.keys(v).slice(0, 8).map((k) => [k, (v as Record<string, unknown>)[k]]);
  for (const [k, x] of entries) {
    if (used > budget) break;
    const p = `${k === undefined ? '' : `${JSON.stringify(k.slice(0, budget))}:`}${render(x, budget - used, depth + 1)}`;
    parts.push(p);
    used += p.length + 1;
  }
  const total = Array.isArray(v) ? v.length : Object.keys(v).length;
  const more = parts.length < total ? ',…' : '';
  return Array.isArray(v) ? `[${parts.join(',')}${more}]` : `{${parts.join(',')}${more}}`;
}

/** JSON-ish text of `v`, cut to about `max` characters; a long string's full length is noted. */
export function show(v: unknown, max = MAX_ECHO): string {
  let text: string;
  try {
    text = render(v, max, 0);
  } catch {
    text = Object.prototype.toString.call(v); // a throwing getter or proxy
  }
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return typeof v === 'string' && v.length > max ? `${cut} (${v.length} characters)` : cut;
}

/** Text the user typed, in single quotes, cut like show(). */
export function quote(s: string, max = MAX_ECHO): string {
  return s.length > max ? `'${s.slice(0, max)}…' (${s.length} characters)` : `'${s}'`;
}
