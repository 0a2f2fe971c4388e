#!/bin/sh
# CI build step: envtool as one executable file, dist/envtool-<version>.pyz (a Python zipapp,
# standard library only), the artifact the environment jobs copy and run.
set -eu
version=$(python3 -c 'import envtool; print(envtool.__version__)')
rm -rf build dist
mkdir -p build/app dist
cp -R envtool build/app/
find build/app -name __pycache__ -prune -exec rm -rf {} +
python3 -m zipapp build/app --main envtool.cli:main --python '/usr/bin/env python3' \
    --output "dist/envtool-$version.pyz"
echo "built dist/envtool-$version.pyz"
