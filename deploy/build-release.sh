#!/bin/sh
# Builds the release tarball the gateway role installs, from the committed HEAD: dist/, production
# node_modules, compliance/ data, config/, docs/ and package.json, as deploy/files/hunze-<version>.tar.gz.
# Run on a build machine with Node.js 20 and npm.
set -eu
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
git archive HEAD | tar -x -C "$stage"
(cd "$stage" && npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev)
mkdir -p deploy/files
tar -czf "deploy/files/hunze-$version.tar.gz" -C "$stage" dist node_modules compliance config docs package.json
echo "deploy/files/hunze-$version.tar.gz"
