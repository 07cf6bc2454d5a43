#!/usr/bin/env bash
# Binding smoke tests: synthesize the same small app with TypeScript (the
# sources), with the built Python wheel (dist/python) in a fresh venv, and with
# the generated Go module (dist/go) through a `replace`, then compare the three
# templates. Also checks that both packages carry the shipped assets, and runs
# every Python and Go example of README.md against the same packages.
#
# Needs: `npx projen package:python` and `npx projen package:go` run first,
# python3 with venv, go, and network access to PyPI and the Go module proxy.
# Env: CDK_VERSION, CONSTRUCTS_VERSION (set by the projen task test:bindings);
# BINDINGS_README=skip leaves out the README examples (test:newest-cdk).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/test/bindings"
work="$here/.work"
: "${CDK_VERSION:?set CDK_VERSION (run through: npx projen test:bindings)}"
: "${CONSTRUCTS_VERSION:?set CONSTRUCTS_VERSION (run through: npx projen test:bindings)}"

fail() { echo "test:bindings: FAIL: $*" >&2; exit 1; }
step() { echo; echo "== $* =="; }

shopt -s nullglob
wheels=("$root"/dist/python/*.whl)
[ "${#wheels[@]}" -eq 1 ] || fail "expected one wheel in dist/python, found ${#wheels[@]}; run: npx projen package:python"
wheel="${wheels[0]}"
gomod="$root/dist/go/cdkcaspernode"
[ -f "$gomod/go.mod" ] || fail "no Go module at $gomod; run: npx projen package:go"
command -v go >/dev/null || fail "go is not installed (Debian: apt-get install -y golang)"
command -v python3 >/dev/null || fail "python3 is not installed (Debian: apt-get install -y python3 python3-venv)"

rm -rf "$work"
mkdir -p "$work/ts" "$work/py" "$work/go"
declare -a timings=()

step "shipped assets inside the packages"
mapfile -t expected_assets < <(cd "$root/src/assets" && find . -type f ! -name '*.ts' | sed 's#^\./#package/lib/assets/#' | sort)
[ "${#expected_assets[@]}" -gt 0 ] || fail "src/assets is empty"
# Bundled at build time: the handlers and the canary script (in its Synthetics layout).
expected_assets+=(
  package/assets/storage/data-volume-lifecycle.lambda/index.js
  package/assets/storage/snapshot-rotation.lambda/index.js
  package/assets/canary/nodejs/node_modules/casper-canary.js
)
python3 - "$wheel" "$work/py/wheel-tarball.tgz" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    tarballs = [n for n in z.namelist() if n.endswith('.tgz') and '/_jsii/' in n]
    if len(tarballs) != 1:
        sys.exit(f"expected one jsii tarball in {wheel}, found {tarballs}")
    with open(out, 'wb') as f:
        f.write(z.read(tarballs[0]))
PY
gotarballs=("$gomod"/jsii/*.tgz)
[ "${#gotarballs[@]}" -eq 1 ] || fail "expected one jsii tarball in $gomod/jsii"
for pkg in "python wheel:$work/py/wheel-tarball.tgz" "go module:${gotarballs[0]}"; do
  name="${pkg%%:*}"; tarball="${pkg#*:}"
  listing="$(tar -tzf "$tarball")"
  for f in "${expected_assets[@]}"; do
    grep -qxF "$f" <<<"$listing" || fail "$name is missing $f"
  done
  echo "ok: $name carries ${#expected_assets[@]} asset file(s)"
done

step "TypeScript synth"
CDK_OUTDIR="$work/ts/cdk.out" npx ts-node --project "$root/test/tsconfig.json" "$here/app.ts"

step "Python synth (wheel $(basename "$wheel"), aws-cdk-lib==$CDK_VERSION, constructs==$CONSTRUCTS_VERSION)"
t0=$(date +%s)
python3 -m venv "$work/py/venv"
"$work/py/venv/bin/pip" install --quiet --disable-pip-version-check \
  "$wheel" "aws-cdk-lib==$CDK_VERSION" "constructs==$CONSTRUCTS_VERSION"
timings+=("$(( $(date +%s) - t0 ))s  fresh venv + pip install of the wheel, aws-cdk-lib and constructs")
"$work/py/venv/bin/python" -c 'import importlib.metadata as m; print("python packages:", *(f"{p}=={m.version(p)}" for p in ("cdk-casper-node", "aws-cdk-lib", "constructs")))'
CDK_OUTDIR="$work/py/cdk.out" "$work/py/venv/bin/python" "$here/python/app.py" 2> "$work/py/stderr.txt" \
  || { cat "$work/py/stderr.txt" >&2; fail "the Python smoke app failed"; }
cat "$work/py/stderr.txt" >&2
# jsii's Node.js version banner (printed by the jsii runtime the app starts) must
# be silenced by the JSII_SILENCE_WARNING_* variables the projen tasks set.
if grep -qiE "end-of-life|no longer be supported|not been tested with node|known compatibility issues" "$work/py/stderr.txt"; then
  fail "the Python app printed jsii's Node.js version banner; the JSII_SILENCE_WARNING_* variables do not reach jsii (JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-unset})"
fi
echo "ok: no jsii banner on stderr"

step "Go synth (module $gomod)"
cp "$here/go/main.go" "$work/go/main.go"
cat > "$work/go/go.mod" <<GOMOD
module casper-smoke

go 1.25

require github.com/cdk-casper-node/cdk-casper-node-go/cdkcaspernode v0.0.0

replace github.com/cdk-casper-node/cdk-casper-node-go/cdkcaspernode => $gomod
GOMOD
t0=$(date +%s)
(cd "$work/go" \
  && go get "github.com/aws/aws-cdk-go/awscdk/v2@v$CDK_VERSION" "github.com/aws/constructs-go/constructs/v10@v$CONSTRUCTS_VERSION" \
  && go mod tidy && go vet . && go build -o smoke .) || fail "the Go smoke app does not build"
timings+=("$(( $(date +%s) - t0 ))s  go get + go build of the Go smoke app (GOCACHE $(go env GOCACHE))")
(cd "$work/go" && grep -E "aws-cdk-go/awscdk/v2 |constructs-go/constructs/v10 " go.mod | sed 's/^/go module: /')
(cd "$work/go" && CDK_OUTDIR="$work/go/cdk.out" ./smoke) || fail "the Go smoke app failed"

for stack in CasperSmoke CasperSmokeNode CasperDefaultNode CasperSmokeFleet; do
  step "compare $stack with the TypeScript synth"
  npx ts-node --project "$root/test/tsconfig.json" "$here/compare.ts" \
    "$work/ts/cdk.out/$stack.template.json" \
    "$work/py/cdk.out/$stack.template.json" \
    "$work/go/cdk.out/$stack.template.json"
done

if [ "${BINDINGS_README:-run}" = skip ]; then
  echo
  printf '%s\n' "${timings[@]}"
  echo "test:bindings: Python and Go smoke tests passed (aws-cdk-lib $CDK_VERSION, constructs $CONSTRUCTS_VERSION; README examples skipped: BINDINGS_README=skip)"
  exit 0
fi

step "README examples"
# Every ```python and ```go block of README.md, run against the same wheel and
# Go module (test/bindings/readme_examples.py writes them out; fragments that
# use `self` are wrapped in a Stack). Each must synthesize at least one template.
readme_py="$work/readme/py"
readme_go="$work/go/readme"   # packages inside the Go work module, so its `replace` applies
mkdir -p "$work/readme"
python3 "$here/readme_examples.py" "$root/README.md" "$readme_py" "$readme_go" > "$work/readme/blocks.tsv" \
  || fail "could not extract the README's code blocks"
(cd "$work/go" && go mod tidy) || fail "go mod tidy failed with the README's Go blocks"
declare -A readme_count=([python]=0 [go]=0)
while IFS=$'\t' read -r -u 3 lang n file line heading; do
  label="README $lang block $n ($heading)"
  out="$work/readme/$lang-$n"
  mkdir -p "$out"
  case "$lang" in
    python)
      (cd "$out" && CDK_OUTDIR="$out/cdk.out" "$work/py/venv/bin/python" "$file") \
        || fail "$label, README.md:$line: the program failed"
      ;;
    go)
      pkg="./readme/$(basename "$(dirname "$file")")"
      (cd "$work/go" && go vet "$pkg" && CDK_OUTDIR="$out/cdk.out" go run "$pkg") \
        || fail "$label, README.md:$line: go vet or go run failed"
      ;;
    *) continue ;;
  esac
  templates=("$out"/cdk.out/*.template.json)
  [ "${#templates[@]}" -gt 0 ] || fail "$label, README.md:$line: synthesized no template (does it call synth?)"
  readme_count[$lang]=$((readme_count[$lang] + 1))
  echo "ok: $label: ${#templates[@]} template(s)"
done 3< "$work/readme/blocks.tsv"
for lang in python go; do
  [ "${readme_count[$lang]}" -gt 0 ] || fail "README.md has no $lang block"
done
echo "ok: ${readme_count[python]} Python and ${readme_count[go]} Go README block(s)"

echo
printf '%s\n' "${timings[@]}"
echo "test:bindings: Python and Go smoke tests and README examples passed (aws-cdk-lib $CDK_VERSION, constructs $CONSTRUCTS_VERSION)"
