#!/bin/sh
# CI validate step: the order script against real HTTP services on loopback: BusyBox httpd
# serving stand-in catalog and stock CGI scripts, so the requests it makes are the real ones.
set -eu
scratch=$(mktemp -d)
port=$((20000 + $$ % 20000))
mkdir -p "$scratch/cgi-bin"
cat > "$scratch/cgi-bin/item" <<'STANDIN'
#!/bin/sh
if [ "$QUERY_STRING" = sku=widget ]; then
  printf 'Content-Type: text/plain\r\n\r\nwidget 999 Widget\n'
else
  printf 'Status: 404 Not Found\r\n\r\n'
fi
STANDIN
cat > "$scratch/cgi-bin/take" <<'STANDIN'
#!/bin/sh
case "$QUERY_STRING" in
  *qty=2) printf 'Content-Type: text/plain\r\n\r\n3\n' ;;
  *) printf 'Status: 409 Conflict\r\n\r\n' ;;
esac
STANDIN
chmod 0755 "$scratch/cgi-bin/item" "$scratch/cgi-bin/take"
busybox httpd -f -p "127.0.0.1:$port" -h "$scratch" &
server=$!
trap 'kill "$server"; rm -rf "$scratch"' EXIT
export SHOP_LIB="$PWD/lib" ORDER_BOOK="$scratch/book" SERVICE_VERSION=9.9.9
export CATALOG_URL="http://127.0.0.1:$port" STOCK_URL="http://127.0.0.1:$port"
for _ in 1 2 3 4 5 6 7 8 9 10; do
  busybox wget -qO- "$CATALOG_URL/cgi-bin/item?sku=widget" >/dev/null 2>&1 && break
  sleep 0.2
done
failures=0

# expect NAME QUERY TEXT: the script answers QUERY with output containing TEXT.
expect() {
  out=$(QUERY_STRING=$2 busybox sh "srv/cgi-bin/$1")
  case "$out" in
    *"$3"*) echo "ok: $1?$2" ;;
    *) echo "FAILED: $1?$2 should say '$3', said: $out"; failures=$((failures + 1)) ;;
  esac
}

expect health '' ok
expect version '' 'orders 9.9.9'
expect order 'sku=widget&qty=2' 'order 1: 2 x Widget = 1998 cents (3 left)'
expect order 'sku=widget&qty=7' 'Status: 409'
expect order 'sku=nothing&qty=1' 'Status: 404'
expect order 'sku=widget' 'Status: 400'
expect orders '' '1 widget 2 1998'
test "$failures" -eq 0
