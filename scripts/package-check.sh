#!/usr/bin/env bash
# Offline check of the AWS deployment config:
#
#   scripts/package-check.sh          (make package-check; make test runs it after make build)
#
# 1. installs the pinned Serverless Framework (serverless@3.40.0 from package-lock.json) with
#    `npm ci` when node_modules is missing or was installed from another lock file;
# 2. checks that serverless.yml and infra/scf/* are what the function catalog generates;
# 3. runs scripts/build.sh when a function's build/aws/NAME.zip is missing;
# 4. runs `serverless package --stage ci` with telemetry, notifications and update checks off and
#    dummy AWS credentials (v3 packages without credentials or network; nothing is deployed);
# 5. checks the compiled CloudFormation template against the catalog (infra/deploy.CheckTemplate):
#    every function, its URL and both URL permissions, its schedules, settings and artifact.
#
# Needs Go and Node.js (>= 18) with npm. Only step 1 uses the network (the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
pkg="build/sls-ci"
template="$pkg/cloudformation-template-update-stack.json"
t0=$(date +%s)

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "package-check: $tool not found; install Node.js (>= 18) with npm" >&2; exit 1; }
done

# 1. serverless@3.40.0, reinstalled whenever package-lock.json changes.
stamp=node_modules/.wxfn-package-lock.sha256
lockhash=$(node -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync("package-lock.json")).digest("hex"))')
if [ ! -x node_modules/.bin/serverless ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lockhash" ]; then
  echo "package-check: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  printf '%s' "$lockhash" >"$stamp"
fi
version=$(node -p 'require("serverless/package.json").version')
if [ "$version" != "3.40.0" ]; then
  echo "package-check: node_modules has serverless $version, want 3.40.0 (rm -rf node_modules and retry)" >&2
  exit 1
fi
t1=$(date +%s)

# 2. The configs are generated from the catalog; a stale one would make step 5 fail confusingly.
mkdir -p build/tools
GOOS= GOARCH= "$GO" build -o build/tools/wxfn-deploy ./infra/deploy/cmd/wxfn-deploy
build/tools/wxfn-deploy check

# 3. Every function's artifact must exist: serverless refuses a missing one.
missing=()
for n in $(build/tools/wxfn-deploy names); do
  [ -f "build/aws/$n.zip" ] || missing+=("$n")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "package-check: building ${missing[*]}"
  bash scripts/build.sh "${missing[@]}"
fi

# 4. Compile the template. Dummy credentials make sure no real account is ever touched; the
#    SLS_* switches keep v3 from phoning home (telemetry, notifications, the China CLI hand-off).
rm -rf "$pkg"
t2=$(date +%s)
env -u AWS_PROFILE -u AWS_SESSION_TOKEN \
  AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \
  AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
  SLS_TELEMETRY_DISABLED=1 SLS_TRACKING_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_GEO_LOCATION=no-cn \
  SLS_DEPRECATION_DISABLE='*' \
  node_modules/.bin/serverless package --stage ci --package "$pkg" </dev/null
t3=$(date +%s)

# 5. Check it against the catalog.
build/tools/wxfn-deploy check-template "$template"
echo "package-check: ok (npm $((t1 - t0))s, serverless package $((t3 - t2))s, total $(($(date +%s) - t0))s)"
