#!/usr/bin/env bash
# `npx projen test:newest-cdk`: the checks of the floor, against the newest
# aws-cdk-lib and constructs the registries serve right now.
#
# The packages accept aws-cdk-lib >=2.257.0 <3, and `pip install` / `npm install`
# / `go get` hand users the newest. This resolves the newest aws-cdk-lib and
# constructs on npm, PyPI and the Go module proxy, takes the newest version all
# three serve (so the languages are compared on the same aws-cdk-lib), installs
# it into a scratch copy of the project (.work/newest-cdk; the lockfile and
# package.json of the project stay on the floor), and runs there:
#   1+2. synth, cdk-nag and cfn-lint of the example node, a node with the VPN, the
#      monitoring constructs alone, a fleet and the network layer (scripts/compliance-check.ts,
#      the unit tests' verdicts in one process),
#   3. checkov over the synthesized templates,
#   4. the TypeScript/Python/Go smoke apps and their template comparison
#      (test/bindings/run-bindings.sh; the README examples run on the floor only),
#   5. the floor's templates against the newest's (test/bindings/compare-cdk-versions.ts):
#      every difference must be one aws-cdk-lib itself explains, or the stage fails.
#
# Needs: lib/ and the packages built (npx projen compile, package:python, package:go),
# .venv from npm test; network access to npm, PyPI and the Go module proxy.
# Env: NEWEST_CDK_VERSION / NEWEST_CONSTRUCTS_VERSION pin the "newest" (e.g. to rerun one);
# NEWEST_FLOOR_OUT: a cdk.out of test/bindings/app.ts on the floor, to reuse.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="$root/.work/newest-cdk"
cd "$root"

fail() { echo "test:newest-cdk: FAIL: $*" >&2; exit 1; }
started=$(date +%s); last=$started
step() {
  local now; now=$(date +%s)
  echo "   (previous step: $(( now - last ))s)"; last=$now
  echo; echo "== $* =="
}
for tool in npm python3 go git; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (Debian: apt-get install -y nodejs npm python3 python3-venv golang git)"
done
if [ ! -f .jsii ] || [ ! -f lib/index.js ]; then fail "lib/ is not built; run: npx projen compile"; fi
shopt -s nullglob
wheels=(dist/python/*.whl)
if [ "${#wheels[@]}" -ne 1 ] || [ ! -f dist/go/cdkcaspernode/go.mod ]; then
  fail "the Python wheel and the Go module are not built; run: npx projen package:python && npx projen package:go"
fi

floor_cdk=$(node -p "require('./package.json').devDependencies['aws-cdk-lib']")
floor_constructs=$(node -p "require('./package.json').devDependencies['constructs']")

# --- the newest versions each registry serves --------------------------------
newest_pypi() {
  python3 - "$1" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(f"https://pypi.org/pypi/{sys.argv[1]}/json", timeout=60) as r:
    print(json.load(r)["info"]["version"])
PY
}
newest_go() { GOFLAGS=-mod=mod go list -m -f '{{.Version}}' "$1@latest" | sed 's/^v//'; }
lowest() { printf '%s\n' "$@" | sort -V | head -1; }

step "newest versions on npm, PyPI and the Go module proxy"
declare -A newest
for pkg in aws-cdk-lib constructs; do
  case "$pkg" in
    aws-cdk-lib) gomod=github.com/aws/aws-cdk-go/awscdk/v2 ;;
    constructs) gomod=github.com/aws/constructs-go/constructs/v10 ;;
  esac
  npm_v=$(npm view "$pkg" version) || fail "npm view $pkg failed"
  pypi_v=$(newest_pypi "$pkg") || fail "could not read $pkg from PyPI"
  go_v=$(cd "$(mktemp -d)" && newest_go "$gomod") || fail "could not read $gomod from the Go module proxy"
  common=$(lowest "$npm_v" "$pypi_v" "$go_v")
  printf '%-12s npm %-9s PyPI %-9s Go %-9s -> %s\n' "$pkg" "$npm_v" "$pypi_v" "$go_v" "$common"
  newest[$pkg]=$common
done
cdk="${NEWEST_CDK_VERSION:-${newest[aws-cdk-lib]}}"
constructs="${NEWEST_CONSTRUCTS_VERSION:-${newest[constructs]}}"
if ! npm view "aws-cdk-lib@$cdk" version >/dev/null || ! npm view "constructs@$constructs" version >/dev/null; then
  fail "npm does not serve aws-cdk-lib $cdk / constructs $constructs"
fi
echo "testing aws-cdk-lib $cdk and constructs $constructs (floor: $floor_cdk and $floor_constructs)"
[ "$cdk" != "$floor_cdk" ] || echo "note: the newest aws-cdk-lib is the floor; the run repeats the floor's checks"

# --- a scratch copy of the project on the newest versions --------------------
step "scratch copy $scratch"
t0=$(date +%s)
rm -rf "$scratch"
mkdir -p "$scratch"
# Tracked files as they are in the work tree, plus what the build made.
git ls-files -z --cached --others --exclude-standard \
  | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$scratch"
cp -a lib assets .jsii dist "$scratch/"
# The Python tools (cfn-lint, checkov) are the same as the floor's.
for venv in .venv .venv-checkov; do [ -d "$venv" ] && ln -s "$root/$venv" "$scratch/$venv"; done
cd "$scratch"
# aws-cdk-lib carries its own cloud assembly schema; the floor's override (pinned
# for the Go proxy, see .projenrc.ts) must not hold it back.
node -e "
const fs = require('fs');
const p = JSON.parse(fs.readFileSync('package.json', 'utf8'));
p.devDependencies['aws-cdk-lib'] = '$cdk';
p.devDependencies['constructs'] = '$constructs';
delete p.overrides;
fs.writeFileSync('package.json', JSON.stringify(p, null, 2) + '\n');
"
npm install --no-audit --no-fund --loglevel=error
got=$(node -p "require('aws-cdk-lib/package.json').version + ' ' + require('constructs/package.json').version")
[ "$got" = "$cdk $constructs" ] || fail "the scratch copy resolved aws-cdk-lib/constructs $got, expected $cdk $constructs"
echo "scratch copy on aws-cdk-lib $cdk, constructs $constructs, cloud-assembly-schema $(node -p "require('@aws-cdk/cloud-assembly-schema/package.json').version") ($(( $(date +%s) - t0 ))s)"

step "synth + cdk-nag + cfn-lint (example node, node with VPN, monitoring alone, fleet, network layer)"
npx ts-node --project test/tsconfig.json scripts/compliance-check.ts "$scratch/compliance.out"

step "checkov (the same templates)"
CHECKOV_TEMPLATES_FROM="$scratch/compliance.out" bash scripts/checkov.sh

step "TypeScript, Python and Go on aws-cdk-lib $cdk"
CDK_VERSION="$cdk" CONSTRUCTS_VERSION="$constructs" BINDINGS_README=skip bash test/bindings/run-bindings.sh

step "floor ($floor_cdk) against newest ($cdk)"
cd "$root"
# The floor's smoke templates: those test:bindings just made (NEWEST_FLOOR_OUT,
# set by .ci/run), or synthesized here.
floor_out="${NEWEST_FLOOR_OUT:-}"
if [ -z "$floor_out" ] || [ ! -f "$floor_out/manifest.json" ]; then
  floor_out="$scratch/floor-ts"
  CDK_OUTDIR="$floor_out" npx ts-node --project test/tsconfig.json test/bindings/app.ts
fi
npx ts-node --project test/tsconfig.json test/bindings/compare-cdk-versions.ts \
  "$floor_cdk" "$floor_out" "$cdk" "$scratch/test/bindings/.work/ts/cdk.out"

step "done"
echo "test:newest-cdk: aws-cdk-lib $cdk / constructs $constructs pass synth, cdk-nag, cfn-lint, checkov and the three-language comparison ($(( $(date +%s) - started ))s)"
