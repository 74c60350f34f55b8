// `${VAR}` in .env values, expanded the way python-dotenv (LiteLLM's .env reader) expands them: `${NAME}` and
// `${NAME:-default}`, from the environment first, then the lines above in the same file. Single-quoted values are
// taken literally, as a shell takes them (a secret containing `${` stays intact). Node's parseEnv reads the file;
// this pass only expands.
// https://github.com/theskumar/python-dotenv#variable-expansion

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** The names in file order (parseEnv's object is not), and those whose value was single-quoted (never expanded). */
function scan(text: string): { order: string[]; literal: Set<string> } {
  const order: string[] = [];
  const literal = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(')?/.exec(line);
    if (!m) continue;
    if (!order.includes(m[1])) order.push(m[1]);
    if (m[2]) literal.add(m[1]);
    else literal.delete(m[1]);
  }
  return { order, literal };
}

/** Expands ${…} in the parsed values, in file order; unknown names become '' (as python-dotenv does). */
export function expandDotEnv(text: string, vars: Record<string, string | undefined>, env: NodeJS.ProcessEnv): Record<string, string> {
  const { order, literal } = scan(text);
  const out: Record<string, string> = {};
  for (const k of [...order.filter((n) => n in vars), ...Object.keys(vars).filter((n) => !order.includes(n))]) {
    const v = vars[k];
    if (v === undefined) continue;
    out[k] = literal.has(k) ? v : v.replace(REF, (_m, name: string, dflt?: string) => env[name] ?? out[name] ?? dflt ?? '');
  }
  return out;
}
