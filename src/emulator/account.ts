// The emulated account's identity and the ways its credential can fail, for `doctor`, `models` and `init` tests
// (the quickstart's troubleshooting table, reference/cortex-api.md §6–§7, §10.3). Set at start
// (EmulatorOptions.account), with emu.setAccount(...) or POST /_emulator/account.
//
//   credentialFailure   what every authenticated call answers instead of its result:
//     'expired-pat'     401 on every path (the PAT is past its expiry) [INF text]
//     'no-cortex-role'  403 "Not Authorized" on the Cortex paths; the SQL API still works (the role exists, it
//                       lacks SNOWFLAKE.CORTEX_USER) [DOC status table]
//     'network-policy'  401 or 403 (networkPolicyStatus) on every path: this client's IP is not allowed [INF text]
//   sql                 how POST /api/v2/statements answers: 'ok', 'forbidden' (403: PATs or this role may not use
//                       the SQL API here), 'no-warehouse' (422 000606: the statement needs a running warehouse)
//   unavailableInRegion model ids that answer the region-unavailable 400 (and are left out of GET /models)
import { CortexError } from './errors.js';

export type CredentialFailure = 'expired-pat' | 'no-cortex-role' | 'network-policy';
export type SqlMode = 'ok' | 'forbidden' | 'no-warehouse';

export interface AccountState {
  /** CURRENT_REGION(), e.g. AWS_US_WEST_2. */
  region: string;
  /** CORTEX_ENABLED_CROSS_REGION: DISABLED, ANY_REGION, AWS_US, … */
  crossRegion: string;
  organization: string;
  accountName: string;
  /** CURRENT_ACCOUNT() (the locator). */
  accountLocator: string;
  user: string;
  role: string;
  credentialFailure: CredentialFailure | null;
  networkPolicyStatus: 401 | 403;
  sql: SqlMode;
  unavailableInRegion: string[];
  /** SHOW AI GATEWAYS (default 'none': most tests model an account without one): 'derived' (https://<org>-<account>.snowflakecomputing.com/api/v2/aigateways/SNOWFLAKE), 'none' (no row), or the endpoint to return. */
  aiGateway: string;
  /** SNOWFLAKE.LOCAL.MY_BUDGET_SUMMARY(): whether this user's AI quota blocks them. */
  quotaBlocked: boolean;
}

export const DEFAULT_ACCOUNT: Readonly<AccountState> = Object.freeze({
  region: 'AWS_US_WEST_2',
  crossRegion: 'DISABLED',
  organization: 'MYORG',
  accountName: 'MYACCOUNT',
  accountLocator: 'XY12345',
  user: 'CORTEX_PROXY_USER',
  role: 'PUBLIC',
  credentialFailure: null,
  networkPolicyStatus: 403,
  sql: 'ok',
  unavailableInRegion: [],
  aiGateway: 'none',
  quotaBlocked: false,
});

const CHECKS: { [K in keyof AccountState]: (v: unknown) => boolean } = {
  region: (v) => typeof v === 'string' && v !== '',
  crossRegion: (v) => typeof v === 'string' && v !== '',
  organization: (v) => typeof v === 'string',
  accountName: (v) => typeof v === 'string',
  accountLocator: (v) => typeof v === 'string',
  user: (v) => typeof v === 'string',
  role: (v) => typeof v === 'string',
  credentialFailure: (v) => v === null || v === 'expired-pat' || v === 'no-cortex-role' || v === 'network-policy',
  networkPolicyStatus: (v) => v === 401 || v === 403,
  sql: (v) => v === 'ok' || v === 'forbidden' || v === 'no-warehouse',
  unavailableInRegion: (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
  aiGateway: (v) => typeof v === 'string' && (v === 'derived' || v === 'none' || /^https?:\/\//.test(v)),
  quotaBlocked: (v) => typeof v === 'boolean',
};

/** Throws on an unknown field or a bad value (typos must not pass silently). */
export function checkAccount(a: unknown): Partial<AccountState> {
  if (!a || typeof a !== 'object' || Array.isArray(a)) throw new Error('account settings must be an object');
  for (const [k, v] of Object.entries(a)) {
    const check = (CHECKS as Record<string, (v: unknown) => boolean>)[k];
    if (!check) throw new Error(`unknown account setting "${k}"`);
    if (!check(v)) throw new Error(`bad value for account setting "${k}": ${JSON.stringify(v)}`);
  }
  return a as Partial<AccountState>;
}

const CORTEX_PREFIX = '/api/v2/cortex/';

/** The error an authenticated call gets under the account's credential failure, or undefined. */
export function credentialRefusal(account: AccountState, path: string, clientIp = '127.0.0.1'): CortexError | undefined {
  switch (account.credentialFailure) {
    case null:
      return undefined;
    case 'expired-pat':
      return new CortexError(401, 'Programmatic access token is expired.', '394400', 'credentialFailure=expired-pat [INF text and code]');
    case 'no-cortex-role':
      // The AI Gateway does not widen model access: the caller still needs CORTEX_USER (cortex-ai-gateway page).
      if (!path.startsWith(CORTEX_PREFIX) && !/^\/api\/v2\/aigateways\//i.test(path)) return undefined;
      return new CortexError(403, 'Not Authorized', undefined, `credentialFailure=no-cortex-role: role ${account.role} lacks SNOWFLAKE.CORTEX_USER`);
    case 'network-policy':
      return new CortexError(
        account.networkPolicyStatus,
        `Incoming request with IP/Token ${clientIp} is not allowed to access Snowflake. Contact your local security administrator or please create a case with Snowflake Support or reach us on our support line.`,
        '390422',
        'credentialFailure=network-policy [INF code]',
      );
  }
}
