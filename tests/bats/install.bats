#!/usr/bin/env bats
# make install / uninstall into a temporary PREFIX (and DESTDIR); every executable has a manual
# page that formats without warnings and names every long option its --help prints (and
# every option of its getopt table), so the pages cannot drift from the code.

load helpers

setup_file() {
    export PFX="$BATS_FILE_TMPDIR/prefix"
    make -s -C "$ROOT" install PREFIX="$PFX" > "$BATS_FILE_TMPDIR/install.log" 2>&1 ||
        { cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
}

setup() { cd "$BATS_TEST_TMPDIR"; }

# The stages: every stages/*.c is an executable of bin/.
stages() { (cd "$ROOT/stages" && ls *.c | sed 's/\.c$//'); }

# A page rendered as plain text, wide, without hyphenation, so options stay whole on a line.
render() { groff -man -Tutf8 -rLL=250n -rHY=0 "$1" 2> /dev/null | col -b; }

@test "install: every stage in PREFIX/bin with its page in share/man/man1, the cfgs in share/facepipe" {
    [ "$(stages | wc -l)" -eq 13 ]
    for s in $(stages); do
        [ -x "$PFX/bin/$s" ]
        cmp "$ROOT/bin/$s" "$PFX/bin/$s"
        [ -f "$PFX/share/man/man1/$s.1" ]
        cmp "$ROOT/docs/man/$s.1" "$PFX/share/man/man1/$s.1"
    done
    # nothing else in bin/ or man1/
    [ "$(ls "$PFX/bin" | wc -l)" -eq 13 ]
    [ "$(ls "$PFX/share/man/man1" | wc -l)" -eq 13 ]
    for c in cnn cnn-original cnn-aug cnn-aug-bn cnn-aug-cos; do
        cmp "$ROOT/pipelines/$c.cfg" "$PFX/share/facepipe/$c.cfg"
    done
    [ "$(ls "$PFX/share/facepipe" | wc -l)" -eq 5 ]
    # the installed tools run from anywhere
    PATH="$PFX/bin:/usr/bin:/bin" decode --help | grep -q '^Usage: decode'
    # and man finds the pages through the prefix
    if command -v man > /dev/null; then
        MANPATH="$PFX/share/man" MANWIDTH=80 man 1 train-svm 2> /dev/null | grep -q 'linear support vector machine'
    fi
}

@test "man pages: the sections, and each formats without a warning (groff -man -ww)" {
    command -v groff > /dev/null || skip "groff is not installed (Debian package groff-base)"
    for s in $(stages); do
        p="$PFX/share/man/man1/$s.1"
        for sec in NAME SYNOPSIS DESCRIPTION OPTIONS 'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
            grep -q "^\.SH \"\?$sec\"\?$" "$p" || { echo "$s.1: no $sec section"; false; }
        done
        # the title names the stage, in section 1; NAME starts with it
        grep -q "^\.TH $(echo "$s" | tr a-z A-Z) 1 " "$p"
        [ "$(render "$p" | grep -A1 '^NAME' | tail -1 | awk '{ print $1 }')" = "$s" ]
        w=$(groff -man -ww -z "$p" 2>&1)
        [ -z "$w" ] || { echo "$s.1: $w"; false; }
    done
}

@test "man pages: every long option of --help and of the source's option table is in the page" {
    command -v groff > /dev/null || skip "groff is not installed (Debian package groff-base)"
    n=0
    for s in $(stages); do
        text=$(render "$PFX/share/man/man1/$s.1")
        opts=$( { "$BIN/$s" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*'
                  awk '/struct option/ { on = 1 } on { print } on && /};/ { on = 0 }' "$ROOT/stages/$s.c" |
                      grep -o '{"[a-z0-9-]*"' | tr -d '{"' | sed 's/^/--/'; } | sort -u)
        [ -n "$opts" ]
        for o in $opts; do
            n=$((n + 1))
            grep -qE -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" <<< "$text" || { echo "$s.1 lacks $o"; false; }
        done
    done
    echo "$n options checked"
    [ "$n" -ge 100 ]       # 147 on 2026-11-28: the extraction found the options
}

@test "uninstall removes exactly what install put there; DESTDIR stages an install" {
    P2="$BATS_TEST_TMPDIR/p2"
    mkdir -p "$P2/bin" && echo keep > "$P2/bin/other-tool"
    make -s -C "$ROOT" install PREFIX="$P2" > /dev/null
    [ "$(find "$P2" -type f | wc -l)" -eq $((13 + 13 + 5 + 1)) ]      # tools, pages, cfgs, other-tool
    make -s -C "$ROOT" uninstall PREFIX="$P2" > /dev/null
    [ "$(find "$P2" -type f)" = "$P2/bin/other-tool" ]
    [ ! -e "$P2/share/facepipe" ]
    make -s -C "$ROOT" install DESTDIR="$BATS_TEST_TMPDIR/stage" PREFIX=/usr > /dev/null
    [ -x "$BATS_TEST_TMPDIR/stage/usr/bin/train-cnn" ]
    [ -f "$BATS_TEST_TMPDIR/stage/usr/share/man/man1/train-cnn.1" ]
    [ ! -e /usr/share/man/man1/train-cnn.1 ] || [ "$(readlink -f /usr/share/man/man1/train-cnn.1)" != "$ROOT/docs/man/train-cnn.1" ]
}
