#!/bin/sh
# Hostile archives (tests/hostile.py): every case either fails with an error
# naming the entry or is applied harmlessly inside the store; nothing outside
# the store changes (the sentinel folder is compared with --strict against a
# snapshot), and the secret never lands in the store.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
TREECMP="python3 $REPO/tests/treecmp.py"
S=$T/sentinel
mkdir -p "$S" "$T/h"
for comp in gzip zstd; do
	rm -rf "$T/h"; mkdir "$T/h"
	python3 "$REPO/tests/hostile.py" --compression $comp "$S" "$T/h" >/dev/null 2>"$T/gen.err" ||
		{ bad "hostile.py ($comp): $(tail -3 "$T/gen.err")"; continue; }
	$TREECMP --save "$S" "$T/snap" || { bad "snapshot"; continue; }
	secret=$(cat "$T/h/secret")
	n=0
	while IFS='	' read -r file case expect match desc; do
		case $file in ''|FILE|'#'*) continue ;; esac
		# zstd: only the layer cases change; archive cases ran with gzip.
		[ $comp = zstd ] && case $file in *.oci.tar) ;; *) continue ;; esac
		n=$((n + 1))
		st=$T/st-$n
		timeout 30 env MINIRUN_ROOT=$st "$MINIRUN" load -i "$T/h/$file" >"$T/out" 2>"$T/err"
		rc=$?
		what="$file [$expect]"
		case $expect in
		reject)
			if [ $rc = 1 ] && { [ "$match" = - ] || grep -qE -- "$match" "$T/err"; }; then
				ok "$what rejected: $(head -c 150 "$T/err")"
			else
				bad "$what: rc=$rc (want 1 naming '$match'): $(head -c 300 "$T/err")"
			fi
			if [ -d "$st/layers" ] && [ -n "$(find "$st/layers" "$st/blobs/sha256" "$st/tmp" -mindepth 1 2>/dev/null | head -1)" ]; then
				bad "$what: store not unchanged after the error"
			fi ;;
		accept)
			[ $rc = 0 ] && ok "$what loaded" || bad "$what: rc=$rc $(head -c 300 "$T/err")" ;;
		either)
			if [ $rc = 0 ]; then
				id=$(MINIRUN_ROOT=$st "$MINIRUN" images -q | head -1)
				timeout 30 env MINIRUN_ROOT=$st "$MINIRUN" image unpack "$id" "$T/unpacked-$n" >/dev/null 2>"$T/err2"
				ok "$what contained (loaded; unpack rc=$?)"
			elif [ $rc = 1 ] && { [ "$match" = - ] || grep -qF -- "$match" "$T/err"; }; then
				ok "$what refused: $(head -c 150 "$T/err")"
			else
				bad "$what: rc=$rc $(head -c 300 "$T/err")"
			fi ;;
		esac
		if ! $TREECMP -q --strict "$T/snap" "$S"; then
			bad "$what: SENTINEL CHANGED"
			$TREECMP --strict "$T/snap" "$S" | head -5
			# Restore the sentinel for the next cases.
			python3 "$REPO/tests/hostile.py" --restore-sentinel "$S" "$T/h"
			$TREECMP --save "$S" "$T/snap"
		fi
		if [ -d "$st" ] && grep -rqF -- "$secret" "$st" "$T/unpacked-$n" 2>/dev/null; then
			bad "$what: the secret was read into the store"
		fi
		rm -rf --one-file-system "$st" "$T/unpacked-$n"
	done <"$T/h/cases.tsv"
	[ $n -gt 20 ] && ok "$n $comp cases run" || bad "only $n cases"
done
finish
