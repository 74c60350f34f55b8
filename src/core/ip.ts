// IP address text: normalising a client address and parsing a CIDR (server/client-address.ts, config/server-settings.ts).
import { isIP, isIPv4 } from 'node:net';

/** '::ffff:1.2.3.4' → '1.2.3.4'; '[::1]:80' / '1.2.3.4:80' (Forwarded, some XFF writers) → the address; lower case. */
export function normaliseIp(raw: string): string {
  let s = raw.trim().replace(/^"|"$/g, '').toLowerCase();
  if (s.startsWith('[')) s = s.slice(1, s.indexOf(']') === -1 ? undefined : s.indexOf(']'));
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  if (s.startsWith('::ffff:') && isIPv4(s.slice(7))) s = s.slice(7);
  return s;
}

/** Parses `a.b.c.d`, `a.b.c.d/n`, `v6`, `v6/n`; undefined when it is not one. */
export function parseCidr(entry: string): { net: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const [addr, bits, extra] = entry.trim().split('/');
  if (extra !== undefined) return undefined;
  const ip = normaliseIp(addr);
  const v = isIP(ip);
  if (!v) return undefined;
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) return undefined;
  return { net: ip, prefix, type: v === 4 ? 'ipv4' : 'ipv6' };
}
