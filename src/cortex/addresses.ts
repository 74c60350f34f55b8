// Which IP addresses an image URL may reach under `image_url_fetch: public` (cortex/images.ts): public unicast
// only. Everything a server-side request forgery aims at is refused: loopback, private (RFC 1918), unique-local,
// link-local (with the cloud metadata services on 169.254.169.254 / 169.254.170.2 / fd00:ec2::254), CGNAT
// 100.64/10 (Alibaba's metadata 100.100.100.200 is in it), Azure's wire server 168.63.129.16, multicast,
// unspecified, broadcast, benchmarking, documentation and reserved ranges — for IPv4, IPv6, and the IPv6 forms
// that carry an IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16).
// Hostname spellings such as 127.1, 2130706433, 0x7f.0.0.1 or 017700000001 never get here unparsed: the WHATWG URL
// parser turns them into 127.0.0.1, and names are resolved first; this module judges the resulting address.
// Ranges: IANA IPv4/IPv6 Special-Purpose Address Registries (RFC 6890 and updates).
import net from 'node:net';

type V4Range = [base: number, bits: number, why: string];

const v4 = (s: string): number => s.split('.').reduce((n, p) => n * 256 + Number(p), 0);

const V4_BLOCKED: V4Range[] = [
  [v4('0.0.0.0'), 8, 'an unspecified ("this network") address'],
  [v4('10.0.0.0'), 8, 'a private address'],
  [v4('100.64.0.0'), 10, 'a shared (CGNAT) address'],
  [v4('127.0.0.0'), 8, 'a loopback address'],
  [v4('169.254.0.0'), 16, 'a link-local address (cloud metadata lives here)'],
  [v4('172.16.0.0'), 12, 'a private address'],
  [v4('192.0.0.0'), 24, 'a reserved address'],
  [v4('192.0.2.0'), 24, 'a documentation address'],
  [v4('192.88.99.0'), 24, 'a reserved (6to4 relay) address'],
  [v4('192.168.0.0'), 16, 'a private address'],
  [v4('198.18.0.0'), 15, 'a benchmarking address'],
  [v4('198.51.100.0'), 24, 'a documentation address'],
  [v4('203.0.113.0'), 24, 'a documentation address'],
  [v4('224.0.0.0'), 4, 'a multicast address'],
  [v4('240.0.0.0'), 4, 'a reserved address'], // includes 255.255.255.255 (broadcast)
  [v4('168.63.129.16'), 32, 'a cloud metadata address'], // Azure wire server: public-looking, reachable only from Azure VMs
];

function v4Risk(n: number): string | undefined {
  for (const [base, bits, why] of V4_BLOCKED) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if (((n & mask) >>> 0) === base) return why;
  }
  return undefined;
}

/** IPv6 text → 8 groups of 16 bits (an embedded dotted IPv4 tail is allowed); undefined when malformed. */
function v6Groups(s: string): number[] | undefined {
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    // a dotted IPv4 tail (::ffff:127.0.0.1) → two hex groups
    if (!net.isIPv4(last)) return undefined;
    const n = v4(last);
    s = `${s.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]);
  let groups: number[];
  if (halves.length === 2) {
    const rest = parse(halves[1]);
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else groups = head;
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g))) return undefined;
  return groups;
}

const embeddedV4 = (hi: number, lo: number) => ((hi << 16) >>> 0) + lo;

function v6Risk(g: number[]): string | undefined {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return 'an unspecified address';
  if (zeros(0, 7) && g[7] === 1) return 'a loopback address';
  // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d carry an IPv4 address.
  if (zeros(0, 5) && g[5] === 0xffff) return v4Risk(embeddedV4(g[6], g[7]));
  if (zeros(0, 6)) return v4Risk(embeddedV4(g[6], g[7])) ?? 'a reserved (IPv4-compatible) address';
  // NAT64 well-known prefix 64:ff9b::/96 reaches the embedded IPv4 address; 64:ff9b:1::/48 is for local use.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4Risk(embeddedV4(g[6], g[7]));
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'a local-use NAT64 address';
  // 6to4 2002:AABB:CCDD::/48 reaches AA.BB.CC.DD.
  if (g[0] === 0x2002) return v4Risk(embeddedV4(g[1], g[2]));
  if ((g[0] & 0xfe00) === 0xfc00) return 'a private (unique-local) address'; // fc00::/7, with AWS's metadata fd00:ec2::254
  if ((g[0] & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((g[0] & 0xffc0) === 0xfec0) return 'a site-local address';
  if ((g[0] & 0xff00) === 0xff00) return 'a multicast address';
  if (g[0] === 0x2001 && g[1] < 0x0200) return 'a reserved address'; // 2001::/23: Teredo, benchmarking, ORCHID…
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'a documentation address';
  if ((g[0] & 0xfff0) === 0x3ff0) return 'a documentation address'; // 3fff::/20
  if ((g[0] & 0xe000) !== 0x2000) return 'a reserved address'; // only 2000::/3 is global unicast
  return undefined;
}

/**
 * Why an address must not be fetched from ("a loopback address", "a private address", …), or undefined for a
 * public unicast address. Anything that is not a well-formed IP address is refused too.
 */
export function addressRisk(address: string): string | undefined {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (net.isIPv4(a)) return v4Risk(v4(a));
  if (net.isIPv6(a)) {
    const g = v6Groups(a.toLowerCase());
    return g ? v6Risk(g) : 'a malformed address';
  }
  return 'not an IP address';
}
