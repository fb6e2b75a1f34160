#!/bin/sh
# Maps every entry of the behaviour catalogue (PROTOCOL.md §10) to the tests
# named after it (test_<ID>_...), and prints the coverage. With --markdown,
# prints the table kept in tests/CATALOGUE.md.
#   sh tests/catalogue.sh [--markdown] [path/to/PROTOCOL.md]
set -eu
md=0
[ "${1:-}" = "--markdown" ] && { md=1; shift; }
spec=${1:-../shared/spec/PROTOCOL.md}
cd "$(dirname "$0")/.."
ids=$(grep -oE '^- \*\*[A-J][0-9]+\*\*' "$spec" | grep -oE '[A-J][0-9]+')
total=0; covered=0
[ $md -eq 1 ] && printf '| id | tests |\n|---|---|\n'
for id in $ids; do
	total=$((total + 1))
	hits=$(grep -oE "START_TEST\(test_${id}_[A-Za-z0-9_]*" tests/unit/*.c tests/sim/*.c 2>/dev/null |
	    sed -E 's#^tests/([^:]*):START_TEST\((.*)#\2 (\1)#' | tr '\n' ';' | sed 's/;$//; s/;/, /g')
	if [ -n "$hits" ]; then
		covered=$((covered + 1))
		[ $md -eq 1 ] && printf '| %s | %s |\n' "$id" "$hits"
	else
		[ $md -eq 1 ] && printf '| %s | **not a test** (see below) |\n' "$id"
		[ $md -eq 0 ] && echo "not covered: $id"
	fi
done
echo "catalogue: $covered of $total entries are tests ($((covered * 100 / total)) %)" >&2
