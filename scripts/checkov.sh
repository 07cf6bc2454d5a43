#!/usr/bin/env bash
# `npx projen checkov`: scans the synthesized CloudFormation templates with
# checkov (PyPI, pinned in test/requirements-checkov.txt, installed into
# .venv-checkov) and prints passed, failed and skipped checks per template and
# in total. Exits non-zero when a check fails: fix it in the construct, or skip
# it on the resource with a reason (src/private/checkov.ts, skipCheckov).
#
# The templates (scripts/checkov-app.ts, synthesized offline, no AWS account):
# the example testnet node, a node with the VPN on, the monitoring constructs alone,
# a fleet (internet-facing, with the SSE and TLS listeners).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=.venv-checkov
requirements=test/requirements-checkov.txt
stamp="$venv/.requirements.sha256"

# The venv is (re)installed only when the requirements file changed, like .venv
# (test/support/python-tools.ts): its stamp is the file's sha256.
t0=$(date +%s)
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/checkov" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "checkov: installing $requirements into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$wanted" > "$stamp"
fi
# No update check against PyPI and no Prisma Cloud download: the scan runs offline.
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true
version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))')
echo "checkov $version (venv ready in $(( $(date +%s) - t0 ))s)"

outdir=$(mktemp -d)
trap 'rm -rf "$outdir"' EXIT

t1=$(date +%s)
if [ -n "${CHECKOV_TEMPLATES_FROM:-}" ]; then
  # Templates synthesized already (test:newest-cdk passes those of scripts/compliance-check.ts).
  ls "$CHECKOV_TEMPLATES_FROM"/*.template.json > "$outdir/templates.txt"
  echo "checkov: $(wc -l < "$outdir/templates.txt") templates from $CHECKOV_TEMPLATES_FROM"
else
  npx ts-node --project test/tsconfig.json scripts/checkov-app.ts "$outdir/cdk.out" > "$outdir/templates.txt"
  echo "checkov: synthesized $(wc -l < "$outdir/templates.txt") templates in $(( $(date +%s) - t1 ))s"
fi

t2=$(date +%s)
files=()
while IFS= read -r template; do
  files+=(-f "$template")
done < "$outdir/templates.txt"
# --soft-fail: the verdict is ours (below), taken from the JSON report.
"$venv/bin/checkov" --framework cloudformation --skip-download --compact --soft-fail \
  --output json "${files[@]}" > "$outdir/report.json"
echo "checkov: scanned in $(( $(date +%s) - t2 ))s"

"$venv/bin/python" - "$outdir/report.json" "$outdir/templates.txt" <<'PY'
import json, os, sys

report = json.load(open(sys.argv[1]))
templates = [os.path.basename(line.strip()) for line in open(sys.argv[2]) if line.strip()]
reports = report if isinstance(report, list) else [report]
counts = {t: {'passed': 0, 'failed': 0, 'skipped': 0} for t in templates}
failures = []
parsing_errors = []
for r in reports:
    results = r.get('results', {})
    parsing_errors += results.get('parsing_errors', [])
    for kind, key in (('passed', 'passed_checks'), ('failed', 'failed_checks'), ('skipped', 'skipped_checks')):
        for check in results.get(key, []):
            name = os.path.basename(check['file_path'])
            counts.setdefault(name, {'passed': 0, 'failed': 0, 'skipped': 0})[kind] += 1
            if kind == 'failed':
                failures.append(f"  FAILED {check['check_id']} {name} {check['resource']}: {check['check_name']}")

for name, c in counts.items():
    print(f"  {name}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
for line in failures:
    print(line)
for path in parsing_errors:
    print(f"  PARSING ERROR {path}")
total = {k: sum(c[k] for c in counts.values()) for k in ('passed', 'failed', 'skipped')}
print(f"checkov: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
sys.exit(1 if total['failed'] > 0 or parsing_errors or not any(sum(c.values()) for c in counts.values()) else 0)
PY
