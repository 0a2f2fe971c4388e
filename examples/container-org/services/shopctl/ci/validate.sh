#!/bin/sh
# CI validate step: the unit tests, then the built artifact itself answers.
set -eu
python3 -m unittest discover --start-directory tests --top-level-directory . --verbose
for tool in dist/shopctl-*.pyz; do
  python3 "$tool" --version
done
