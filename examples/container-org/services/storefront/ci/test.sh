#!/bin/sh
# CI validate step: the page and the versions against real HTTP services on loopback: BusyBox
# httpd serving stand-in catalog and stock CGI scripts, so the requests made are the real ones.
set -eu
scratch=$(mktemp -d)
port=$((20000 + $$ % 20000))
mkdir -p "$scratch/cgi-bin"
cat > "$scratch/cgi-bin/items" <<'STANDIN'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nwidget 999 Widget\ngizmo 12000 Big Gizmo\n'
STANDIN
cat > "$scratch/cgi-bin/level" <<'STANDIN'
#!/bin/sh
case "$QUERY_STRING" in
  sku=widget) printf 'Content-Type: text/plain\r\n\r\n25\n' ;;
  *) printf 'Status: 404 Not Found\r\n\r\n' ;;
esac
STANDIN
cat > "$scratch/cgi-bin/version" <<'STANDIN'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nstand-in 0.1\n'
STANDIN
chmod 0755 "$scratch"/cgi-bin/*
busybox httpd -f -p "127.0.0.1:$port" -h "$scratch" &
server=$!
trap 'kill "$server"; rm -rf "$scratch"' EXIT
export SHOP_LIB="$PWD/lib" STOREFRONT_BANNER="$scratch/banner" SERVICE_VERSION=9.9.9
export CATALOG_URL="http://127.0.0.1:$port" STOCK_URL="http://127.0.0.1:$port"
for _ in 1 2 3 4 5 6 7 8 9 10; do
  busybox wget -qO- "$CATALOG_URL/cgi-bin/items" >/dev/null 2>&1 && break
  sleep 0.2
done
failures=0

# expect NAME TEXT: the script's answer contains TEXT.
expect() {
  out=$(QUERY_STRING='' busybox sh "srv/cgi-bin/$1")
  case "$out" in
    *"$2"*) echo "ok: $1 says '$2'" ;;
    *) echo "FAILED: $1 should say '$2', said: $out"; failures=$((failures + 1)) ;;
  esac
}

expect health ok
expect version 'storefront 9.9.9'
expect versions 'stand-in 0.1'
busybox sh bin/set-banner 'test shop'
expect index '<h1>test shop</h1>'
expect index '<li>Widget (widget): 9.99, 25 in stock</li>'
expect index '<li>Big Gizmo (gizmo): 120.00, ? in stock</li>'
CATALOG_URL=http://127.0.0.1:1 expect index 'Status: 502'
test "$failures" -eq 0
