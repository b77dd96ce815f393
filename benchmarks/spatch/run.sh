#!/usr/bin/env bash
# Run the two Coccinelle rules of this directory on a kernel tree, time them, and compare the
# call inventory with git grep.
#
#     benchmarks/spatch/run.sh TREE [JOBS]
#
# TREE is a git work tree (scripts/debian-kernel-tree makes one); JOBS defaults to the number
# of cores. Candidate files come from git grep (the fastest complete scanner, see README.md),
# split over JOBS spatch processes. Prints the SITE lines of swap_special.cocci, the wall
# times, and every `git grep -nw` line that is not a call found by callsites.cocci (comments,
# definitions, calls Coccinelle missed), and any call line git grep did not find.

set -euo pipefail

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: ${0##*/} TREE [JOBS]" >&2; exit 2; }
here=$(cd "$(dirname -- "$0")" && pwd -P)
tree=$1
jobs=${2:-$(nproc 2>/dev/null || echo 1)}
cd "$tree"
git rev-parse --git-dir >/dev/null 2>&1 || { echo "${0##*/}: $tree is not a git tree" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# spatch on the files listed in $1 (one per line), in $jobs processes.
run_spatch() {
	local list=$1 cocci=$2 n per
	n=$(wc -l <"$list")
	((n > 0)) || return 0
	per=$(((n + jobs - 1) / jobs))
	xargs -r -d '\n' -P "$jobs" -n "$per" \
		spatch --sp-file "$cocci" --no-includes --very-quiet <"$list"
}

ids=(-e is_swap_pte -e pte_to_swp_entry)

t0=$(now)
# Files holding both names (a SITE needs both). Two plain greps: `git grep --all-match` is
# three times slower than both together.
git grep -l -w -e is_swap_pte -- '*.c' '*.h' >"$work/swap-pte" || true
xargs -r -d '\n' grep -l -w -e pte_to_swp_entry -- <"$work/swap-pte" >"$work/both" || true
run_spatch "$work/both" "$here/swap_special.cocci" | sort -t: -k1,1 -k2,2n >"$work/sites"
t1=$(now)
git grep -l -w "${ids[@]}" -- '*.c' '*.h' >"$work/any" || true
run_spatch "$work/any" "$here/callsites.cocci" | sort -k3 >"$work/calls"
t2=$(now)

cat "$work/sites"
echo "swap_special.cocci: $(wc -l <"$work/sites") sites in $(elapsed "$t0" "$t1") s" \
	"($(wc -l <"$work/both") files hold both names, $jobs jobs)"
echo "callsites.cocci: $(wc -l <"$work/calls") calls in $(elapsed "$t1" "$t2") s" \
	"($(wc -l <"$work/any") files hold either name, $jobs jobs)"

# Inventory check: file:line of every call spatch found against every git grep line.
awk '{ split($3, a, ":"); print a[1] ":" a[2] }' "$work/calls" | sort -u >"$work/call-lines"
git grep -n -w "${ids[@]}" >"$work/grep" || true
cut -d: -f1,2 "$work/grep" | sort -u >"$work/grep-lines"
echo "git grep lines that are not a call found by spatch:"
comm -23 "$work/grep-lines" "$work/call-lines" | while IFS= read -r loc; do
	grep -F -m1 -- "$loc:" "$work/grep" | sed 's/^/  /'
done
echo "calls found by spatch on lines git grep did not report:"
comm -13 "$work/grep-lines" "$work/call-lines" | sed 's/^/  /'
