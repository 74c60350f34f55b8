// After `npm install --prefix test/agents …`, run `node test/agents/complete-lock.mjs`.
//
// Some platform packages that the agents list as optionalDependencies (opencode-darwin-arm64, …) are not on
// the registry this project's machines reach, so `npm install` leaves them out of package-lock.json and
// `npm ci` then refuses the lockfile ("Missing: opencode-darwin-arm64@ from lock file"). This adds each
// missing one as an optional entry with its os/cpu/libc (read from its name), so `npm ci` skips it on other
// platforms without fetching anything, and fetches it normally where it applies.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('./package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const pkgs = lock.packages;

function platform(name) {
  const n = name.split('/').pop();
  const os = /darwin/.test(n) ? 'darwin' : /win32|windows/.test(n) ? 'win32' : 'linux';
  const entry = { cpu: [/arm64/.test(n) ? 'arm64' : 'x64'] };
  if (/musl/.test(n)) entry.libc = ['musl'];
  else if (os === 'linux' && /gnu/.test(n)) entry.libc = ['glibc'];
  return { ...entry, optional: true, os: [os] };
}

const added = [];
for (const entry of Object.values(pkgs)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (pkgs[key]) continue;
    pkgs[key] = { version, ...platform(dep) };
    added.push(`${dep}@${version}`);
  }
}
const sorted = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en'))));
writeFileSync(file, JSON.stringify({ ...lock, packages: sorted }, null, 2) + '\n');
console.log(added.length ? `added ${added.length} optional platform entries: ${added.join(', ')}` : 'lockfile already complete');
