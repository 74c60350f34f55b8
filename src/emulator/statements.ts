// The SQL API (`POST /api/v2/statements`, reference/cortex-api.md §10.3), as far as cortex-proxy's commands use it.
// Statements are matched against STATEMENT_PATTERNS (regexes on the whitespace-collapsed text, case-insensitive);
// a feature that needs another statement adds a pattern with addStatementPattern() from its own file. Anything
// unmatched is a 422 "SQL compilation error", like a statement Snowflake cannot compile.
//
// Answers: 200 ResultSet (format jsonv2, every value a string or null); 422 QueryFailureStatus; the account's
// `sql` mode can make every statement fail (403, or 422 000606 "no active warehouse").
import { randomUUID } from 'node:crypto';
import type { ModelInfo } from '../cortex/models.js';
import type { AccountState } from './account.js';
import type { ReceivedRequest } from './types.js';
import { CortexError } from './errors.js';

export interface Column {
  name: string;
  /** Snowflake type name in lower case: text, fixed, boolean, timestamp_ltz, … */
  type?: string;
}

export interface StatementResult {
  columns: Column[];
  rows: Array<Array<string | null>>;
}

export interface StatementContext {
  account: AccountState;
  /** The models this account knows (id → facts). */
  models: ReadonlyMap<string, ModelInfo>;
  /** Requests the emulator has served (e.g. to synthesise usage-history rows). */
  requests: readonly ReceivedRequest[];
}

export interface StatementPattern {
  /** Matched against the statement with runs of whitespace collapsed to one space and no trailing ';'. */
  pattern: RegExp;
  /** The rows, or throw a SqlError (→ 422 QueryFailureStatus). */
  run(match: RegExpExecArray, ctx: StatementContext): StatementResult;
}

/** A statement Snowflake would refuse: 422 QueryFailureStatus. */
export class SqlError extends Error {
  constructor(
    message: string,
    readonly code = '001003',
    readonly sqlState = '42000',
  ) {
    super(message);
  }
}

const text = (name: string): Column => ({ name, type: 'text' });

/** Scalar context functions a `SELECT f(), g(), …` may list. */
const FUNCTIONS: Record<string, (a: AccountState) => string> = {
  'CURRENT_REGION()': (a) => a.region,
  'CURRENT_ACCOUNT()': (a) => a.accountLocator,
  'CURRENT_ACCOUNT_NAME()': (a) => a.accountName,
  'CURRENT_ORGANIZATION_NAME()': (a) => a.organization,
  "CURRENT_ORGANIZATION_NAME()||'-'||CURRENT_ACCOUNT_NAME()": (a) => `${a.organization}-${a.accountName}`,
  'CURRENT_USER()': (a) => a.user,
  'CURRENT_ROLE()': (a) => a.role,
  'CURRENT_VERSION()': () => '9.40.0',
};

const PARAMETER_DESCRIPTIONS: Record<string, string> = {
  CORTEX_ENABLED_CROSS_REGION: 'Regions where Cortex inference may run when the model is not available in the current region.',
  CORTEX_MODELS_ALLOWLIST: 'Models that may be used with Cortex functions.',
};

export const STATEMENT_PATTERNS: StatementPattern[] = [
  {
    // SELECT CURRENT_REGION(), CURRENT_ACCOUNT(), … (context functions only, no FROM)
    pattern: /^SELECT ((?:(?!\bFROM\b).)+)$/i,
    run(m, ctx) {
      const exprs = m[1].split(/,(?![^(]*\))/).map((s) => s.trim());
      const columns: Column[] = [];
      const row: string[] = [];
      for (const expr of exprs) {
        const key = expr.replace(/\s+/g, '').toUpperCase();
        const fn = FUNCTIONS[key];
        if (!fn) throw new SqlError(`SQL compilation error: the emulator cannot evaluate '${expr}'`, '000904', '42000');
        columns.push(text(expr.toUpperCase()));
        row.push(fn(ctx.account));
      }
      return { columns, rows: [row] };
    },
  },
  {
    // SHOW PARAMETERS LIKE 'CORTEX_ENABLED_CROSS_REGION' IN ACCOUNT
    pattern: /^SHOW PARAMETERS LIKE '([^']+)' IN ACCOUNT$/i,
    run(m, ctx) {
      const like = new RegExp('^' + m[1].toUpperCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.') + '$');
      const values: Record<string, [string, string]> = {
        CORTEX_ENABLED_CROSS_REGION: [ctx.account.crossRegion, 'DISABLED'],
        CORTEX_MODELS_ALLOWLIST: ['All', 'All'],
      };
      const rows = Object.entries(values)
        .filter(([k]) => like.test(k))
        .map(([k, [value, dflt]]) => [k, value, dflt, value === dflt ? '' : 'ACCOUNT', PARAMETER_DESCRIPTIONS[k] ?? '', 'STRING']);
      return { columns: ['key', 'value', 'default', 'level', 'description', 'type'].map(text), rows };
    },
  },
  {
    // SHOW CORTEX BASE MODELS [DOC newer; columns INF]
    pattern: /^SHOW CORTEX BASE MODELS$/i,
    run(_m, ctx) {
      const unavailable = new Set(ctx.account.unavailableInRegion);
      const rows = [...ctx.models.keys()].filter((id) => !unavailable.has(id)).map((id) => [id, 'GA']);
      return { columns: [text('name'), text('status')], rows };
    },
  },
];

export function addStatementPattern(p: StatementPattern): void {
  STATEMENT_PATTERNS.push(p);
}

/** The 200 ResultSet body (§10.3). */
export function resultSet(result: StatementResult, handle = randomUUID()): Record<string, unknown> {
  const size = JSON.stringify(result.rows).length;
  return {
    resultSetMetaData: {
      numRows: result.rows.length,
      format: 'jsonv2',
      partitionInfo: [{ rowCount: result.rows.length, uncompressedSize: size }],
      rowType: result.columns.map((c) => ({
        name: c.name,
        database: '',
        schema: '',
        table: '',
        type: c.type ?? 'text',
        byteLength: 16777216,
        length: 16777216,
        precision: null,
        scale: null,
        nullable: true,
        collation: null,
      })),
    },
    data: result.rows,
    code: '090001',
    statementStatusUrl: `/api/v2/statements/${handle}`,
    sqlState: '00000',
    statementHandle: handle,
    message: 'Statement executed successfully.',
    createdOn: Date.now(),
  };
}

/** Runs one SQL API request body. Throws CortexError for what is not SQL at all (bad body, SQL mode refusals). */
export function runStatement(body: unknown, ctx: StatementContext): { status: number; body: Record<string, unknown> } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new CortexError(400, 'Unable to parse request body', '391902', 'SQL API body must be a JSON object');
  const stmt = (body as Record<string, unknown>).statement;
  if (typeof stmt !== 'string' || stmt.trim() === '') throw new CortexError(400, 'statement is required', '391902', '"statement" must be a non-empty string');
  const handle = randomUUID();
  if (ctx.account.sql === 'forbidden') throw new CortexError(403, 'Not Authorized', undefined, 'account sql=forbidden');
  const failure = (e: SqlError) => ({
    status: 422,
    body: { code: e.code, sqlState: e.sqlState, message: e.message, statementHandle: handle, createdOn: Date.now() },
  });
  if (ctx.account.sql === 'no-warehouse' && !(body as Record<string, unknown>).warehouse) {
    return failure(new SqlError("No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.", '000606', '57P03'));
  }
  const normalised = stmt.trim().replace(/;\s*$/, '').replace(/\s+/g, ' ');
  for (const p of STATEMENT_PATTERNS) {
    p.pattern.lastIndex = 0;
    const m = p.pattern.exec(normalised);
    if (!m) continue;
    try {
      return { status: 200, body: resultSet(p.run(m, ctx), handle) };
    } catch (e) {
      if (e instanceof SqlError) return failure(e);
      throw e;
    }
  }
  return failure(new SqlError(`SQL compilation error: the emulator does not know the statement '${normalised.slice(0, 80)}'`));
}
