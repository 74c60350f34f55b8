// clip: a client-supplied string made safe to quote in an error message (cut, control and bidi characters as ?).
/** Cuts a client-supplied string for an error message: at most `max` characters, control and bidi characters as `?`. */
export function clip(s: string, max = 100): string {
  const cut = s.length > max ? `${s.slice(0, max)}…(${s.length} characters)` : s;
  return cut.replace(/[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}
