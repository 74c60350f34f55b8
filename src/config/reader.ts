// The parts of the config file's context (config/file-ctx.ts FileCtx) that the section readers use, structurally:
// routing, aliases, credentials, include and deployment parameters read through it and name the line of a problem.
export interface Entry {
  key: string;
  keyNode: unknown;
  value: unknown;
}
export interface RoutingReader {
  entries(node: unknown, where: string): Entry[];
  number(e: Entry, name: string, ok: (n: number) => boolean, expected: string, example: string): number | undefined;
  string(e: Entry, name: string, example: string): string | undefined;
  bool(e: Entry, name: string): boolean | undefined;
  deref(node: unknown): unknown;
  fail(node: unknown, detail: string, hint: string): never;
  warn(node: unknown, text: string): void;
  unknown(e: Entry, section: string, known: readonly string[], litellm: ReadonlySet<string>): void;
}
