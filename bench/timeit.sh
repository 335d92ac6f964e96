# bench/timeit.sh - sourced by the bench scripts: best-of-N timing of a command.
#   best_of N WALLVAR CPUVAR -- command args...     (stdout and stderr of the command dropped)
# Wall time and CPU time (user + sys, all threads) are each the minimum over N runs: the
# machine may be shared, and the minimum is the least disturbed run.
best_of() {
    local n=$1 __w=$2 __c=$3
    shift 4
    local _bw= _bc= _i _w _u _s _c _tf
    _tf=$(mktemp)
    for ((_i = 0; _i < n; _i++)); do
        /usr/bin/time -o "$_tf" -f '%e %U %S' "$@" > /dev/null 2> /dev/null
        read -r _w _u _s < "$_tf"
        _c=$(echo "$_u + $_s" | bc)
        if [ -z "$_bw" ] || [ "$(echo "$_w < $_bw" | bc)" = 1 ]; then _bw=$_w; fi
        if [ -z "$_bc" ] || [ "$(echo "$_c < $_bc" | bc)" = 1 ]; then _bc=$_c; fi
    done
    rm -f "$_tf"
    printf -v "$__w" "%s" "$_bw"
    printf -v "$__c" "%s" "$_bc"
}
