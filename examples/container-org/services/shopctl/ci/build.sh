#!/bin/sh
# CI build step: shopctl as one executable file, dist/shopctl-<version>.pyz (a Python zipapp,
# standard library only), the artifact the environment jobs copy and run.
set -eu
version=$(python3 -c 'import shopctl; print(shopctl.__version__)')
rm -rf build dist
mkdir -p build/app dist
cp -R shopctl build/app/
find build/app -name __pycache__ -prune -exec rm -rf {} +
python3 -m zipapp build/app --main shopctl.cli:main --python '/usr/bin/env python3' \
    --output "dist/shopctl-$version.pyz"
echo "built dist/shopctl-$version.pyz"
