#!/usr/bin/env bats
# mat: the stream format's guarantees (round trips, truncation, mismatches) and each command.

load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

small_csv() {
    printf 'id,x0,x1,x2\na,1.5,-2,3\nb,0.25,1e-3,-7\nc,100,0,1\n'
}

@test "mat: from-csv | to-csv round trips exactly (f32 and f64)" {
    small_csv > in.csv
    mat from-csv in.csv | mat to-csv > out.csv
    diff <(printf 'id,x0,x1,x2\na,1.5,-2,3\nb,0.25,0.00100000005,-7\nc,100,0,1\n') out.csv
    mat from-csv --type f64 in.csv | mat to-csv > out64.csv
    diff <(printf 'id,x0,x1,x2\na,1.5,-2,3\nb,0.25,0.001,-7\nc,100,0,1\n') out64.csv
}

@test "mat: quoted ids with commas survive a round trip" {
    printf 'id,x0\n"a,b",1\n"say ""hi""",2\n' > q.csv
    mat from-csv --type i32 q.csv | mat to-csv > out.csv
    diff q.csv out.csv
}

@test "mat info: describes shape, type, ids and values" {
    small_csv | mat from-csv > m.npy
    run mat info m.npy
    [ "$status" -eq 0 ]
    [ "$output" = "m.npy: 3 rows x 3 f32 (id width 64), ids a..c, values -7..100 mean 10.7501" ]
    run mat info --rows m.npy
    [ "$output" = 3 ]
}

@test "mat: a truncated stream is detected with the row it ends in" {
    small_csv | mat from-csv > m.npy
    size=$(stat -c %s m.npy)
    head -c $((size - 5)) m.npy > cut.npy
    run mat to-csv cut.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"cut.npy: truncated stream: header declares 3 rows, input ended inside row 3 (71 of 76 bytes)"* ]]
    head -c 100 m.npy > cut2.npy
    run mat info cut2.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"cut2.npy: truncated matrix header: expected 118 bytes of header text, got 90"* ]]
}

@test "mat: trailing data after the declared rows is a row count mismatch" {
    small_csv | mat from-csv > m.npy
    { cat m.npy; printf 'extra'; } > long.npy
    run mat info long.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"long.npy: more data after the 3 rows the header declares (row count mismatch)"* ]]
}

@test "mat: wrong magic, empty input and unsupported types are clear errors" {
    printf 'P6\n2 2\n255\n' > x.ppm
    run mat info x.ppm
    [ "$status" -eq 1 ]
    [[ "$output" == *"x.ppm: not a matrix stream: expected the NumPy magic \\x93NUMPY, found bytes 50360a322032"* ]]
    run mat info < /dev/null
    [ "$status" -eq 1 ]
    [[ "$output" == *"stdin: empty input: expected a matrix stream"* ]]
    small_csv | mat from-csv > m.npy
    sed 's/<f4/<c8/' m.npy > c8.npy
    run mat info c8.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"element type '<c8' is not supported; expected u1, i4, f4 or f8"* ]]
}

@test "mat: an absurd row shape in a header is refused before allocating" {
    small_csv | mat from-csv > m.npy
    sed "s/(3,))/(999999999,))/" m.npy > bomb.npy
    run mat info bomb.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"bomb.npy: rows of 3999999996 bytes are beyond the limit"* ]]
}

@test "mat head and cat: rows, order and shape checks" {
    small_csv | mat from-csv > m.npy
    mat head -n 2 m.npy | mat ids > ids.txt
    [ "$(cat ids.txt)" = "$(printf 'a\nb')" ]
    mat cat m.npy m.npy | mat info --rows > n.txt
    [ "$(cat n.txt)" = 6 ]
    printf 'id,x0\nz,1\n' | mat from-csv > one.npy
    run mat cat m.npy one.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"one.npy: rows differ from m.npy: expected 3 rows x 3 f32 (id width 64), found 1 rows x 1 f32 (id width 64)"* ]]
}

@test "mat select: keeps or drops listed ids, refuses unknown ones" {
    small_csv | mat from-csv > m.npy
    printf 'file_name,smiling\nc,1\na,-1\n' > keep.csv
    mat select --ids keep.csv m.npy 2>/dev/null | mat ids > kept.txt
    [ "$(cat kept.txt)" = "$(printf 'a\nc')" ]
    mat select --exclude --ids keep.csv m.npy 2>/dev/null | mat ids > dropped.txt
    [ "$(cat dropped.txt)" = b ]
    printf 'file_name\nq\na\n' > missing.csv
    run mat select --ids missing.csv m.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"1 of the 2 ids listed in missing.csv are not in the stream"* ]]
    mat select --allow-missing --ids missing.csv m.npy 2>/dev/null | mat info --rows > n.txt
    [ "$(cat n.txt)" = 1 ]
}

@test "mat: -o writes atomically and convert changes the type" {
    small_csv | mat from-csv | mat convert --type f64 -o m64.npy
    run mat info m64.npy
    [[ "$output" == "m64.npy: 3 rows x 3 f64"* ]]
    [ -z "$(ls | grep '\.tmp\.')" ]
}

@test "-o to a FIFO, /proc/self/fd/1 or a link writes through it: renaming would replace it with a plain file" {
    small_csv | mat from-csv > m.npy
    mkfifo p
    timeout 20 cat p > got.npy &     # a test that fails, not one that hangs
    mat select --exclude --ids <(echo file_name) m.npy -o p     # a row count known only at the end
    wait
    [ -p p ]
    cmp m.npy got.npy
    # text too (every stage's -o, train-cnn's --predictions, ... share the code)
    timeout 20 cat p > got.csv &
    mat to-csv m.npy -o p
    wait
    [ -p p ]
    cmp got.csv <(mat to-csv m.npy)
    [ -z "$(ls | grep '\.tmp\.')" ]
    # the name of a stream (/dev/stdout is a link to it): written through, not replaced - the
    # old code made /proc/self/fd/1.tmp.PID here, and replaced /dev/stdout itself as root
    mat to-csv m.npy -o /proc/self/fd/1 > via-proc.csv
    cmp via-proc.csv got.csv
    # a symbolic link to a file: the file is replaced atomically, the link stays a link
    echo old > real.csv
    ln -s real.csv link.csv
    mat to-csv m.npy -o link.csv
    [ -L link.csv ]
    cmp real.csv got.csv
    [ -z "$(ls | grep '\.tmp\.')" ]
}

@test "mat: streams and to-npy arrays load in NumPy with ids and shapes" {
    [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "python3-numpy not installed"
    small_csv | mat from-csv > m.npy
    mat to-npy m.npy > plain.npy
    run /usr/bin/python3 -c '
import numpy as np
a = np.load("m.npy"); p = np.load("plain.npy")
print(a.shape, a["id"].tolist(), a["x"][1].tolist(), p.shape, p.dtype, float(p[2,0]))'
    [ "$output" = "(3,) [b'a', b'b', b'c'] [0.25, 0.0010000000474974513, -7.0] (3, 3) float32 100.0" ]
    # and the reverse: a plain NumPy array is read with row numbers as ids
    /usr/bin/python3 -c 'import numpy as np; np.save("np.npy", np.arange(6, dtype="<f8").reshape(3, 2))'
    run mat to-csv np.npy
    [ "$output" = "$(printf 'id,x0,x1\n0,0,1\n1,2,3\n2,4,5')" ]
}

@test "mat: usage errors exit 2" {
    run mat
    [ "$status" -eq 2 ]
    run mat frobnicate
    [ "$status" -eq 2 ]
    [[ "$output" == *"unknown command 'frobnicate'"* ]]
    run mat select m.npy
    [ "$status" -eq 2 ]
    run mat --help
    [ "$status" -eq 0 ]
}
