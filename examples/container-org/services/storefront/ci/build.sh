#!/bin/sh
# CI build step: the image's files are the artifact (the package job builds the image from them);
# here every shell script must at least parse.
set -eu
for script in srv/cgi-bin/* bin/* lib/*.sh; do
  sh -n "$script"
done
echo "storefront $(sed -n 's/^ENV SERVICE_VERSION=//p' Containerfile): scripts parse"
