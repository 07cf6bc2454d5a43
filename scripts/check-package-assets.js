// Checks that a package carries the files the constructs read at synth time:
// the bundled Lambda handlers (assets/<dir>/<name>.lambda/index.js, one per
// src/**/*.lambda.ts), the bundled canary script, and every shipped file of
// src/assets/ copied to lib/assets/. Without them a Python or Go app fails at
// synth with "Cannot find asset"; this makes the package task fail instead.
//
//   node scripts/check-package-assets.js            before jsii-pacmak: the files on disk
//   node scripts/check-package-assets.js js|python|go   after it: the files inside the built package
//
// Run by every package:* task (see .projenrc.ts). Exits 1 with the list of
// missing files and the command that builds them.
const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(process.env.CHECK_PACKAGE_ROOT ?? path.join(__dirname, '..'));

function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

/** Package-relative paths (`assets/...`, `lib/assets/...`) every package must hold. */
function expectedFiles() {
  const src = path.join(root, 'src');
  const rel = (p) => path.relative(src, p).split(path.sep).join('/');
  const handlers = walk(src)
    .filter((p) => p.endsWith('.lambda.ts'))
    .map((p) => `assets/${rel(p).replace(/\.ts$/, '')}/index.js`);
  const shipped = walk(path.join(src, 'assets'))
    .filter((p) => !p.endsWith('.ts'))
    .map((p) => `lib/${rel(p)}`);
  if (handlers.length === 0) fail('found no src/**/*.lambda.ts: is this the project root?', []);
  if (shipped.length === 0) fail('found no shipped file under src/assets/', []);
  return [...handlers, 'assets/canary/nodejs/node_modules/casper-canary.js', ...shipped, 'lib/index.js', '.jsii'].sort();
}

function fail(what, missing) {
  console.error(`check-package-assets: FAIL: ${what}`);
  for (const f of missing.slice(0, 20)) console.error(`  missing: ${f}`);
  if (missing.length > 20) console.error(`  ... and ${missing.length - 20} more`);
  console.error('Build them with: npx projen pre-compile && npx projen compile (or npx projen build), then package again.');
  process.exit(1);
}

/** Files inside an npm tarball, without the leading `package/`. */
function tarballListing(tarball) {
  const out = childProcess.execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return new Set(out.split('\n').filter(Boolean).map((l) => l.replace(/^package\//, '')));
}

/** Copies the jsii tarball out of a wheel (a zip) with Python's zipfile module. */
function tarballFromWheel(wheel) {
  const out = path.join(fs.mkdtempSync(path.join(require('os').tmpdir(), 'wheel-')), 'package.tgz');
  const py = [
    'import sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    "names = [n for n in z.namelist() if n.endswith('.tgz') and '/_jsii/' in n]",
    "sys.exit(f'expected one jsii tarball in the wheel, found {names}') if len(names) != 1 else None",
    "open(sys.argv[2], 'wb').write(z.read(names[0]))",
  ].join('\n');
  const r = childProcess.spawnSync('python3', ['-c', py, wheel, out], { stdio: 'inherit' });
  if (r.error) fail(`cannot read ${wheel}: python3 is not installed (Debian: apt-get install -y python3)`, []);
  if (r.status !== 0) fail(`cannot read the jsii tarball in ${wheel}`, []);
  return out;
}

function single(dir, suffix, what) {
  const found = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(suffix)) : [];
  if (found.length !== 1) fail(`expected one ${what} in ${path.relative(root, dir)}, found ${found.length} (${found.join(', ')})`, []);
  return path.join(dir, found[0]);
}

const expected = expectedFiles();
const target = process.argv[2];
let present;
let where;
switch (target) {
  case undefined:
    where = 'the project directory (before packaging)';
    present = new Set(expected.filter((f) => fs.existsSync(path.join(root, f))));
    break;
  case 'js':
    where = 'the npm tarball';
    present = tarballListing(single(path.join(root, 'dist', 'js'), '.tgz', 'npm tarball'));
    break;
  case 'python':
    where = 'the Python wheel';
    present = tarballListing(tarballFromWheel(single(path.join(root, 'dist', 'python'), '.whl', 'wheel')));
    break;
  case 'go':
    where = 'the Go module';
    present = tarballListing(single(path.join(root, 'dist', 'go', 'cdkcaspernode', 'jsii'), '.tgz', 'jsii tarball'));
    break;
  default:
    console.error('usage: check-package-assets.js [js|python|go]');
    process.exit(2);
}
const missing = expected.filter((f) => !present.has(f));
if (missing.length > 0) fail(`${where} lacks ${missing.length} of ${expected.length} file(s) the constructs need at synth`, missing);
console.log(`check-package-assets: ${where} holds all ${expected.length} files the constructs need at synth`);
