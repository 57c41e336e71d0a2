# bench_grow: the grow row of `make bench` alone (tests/guest/bench.sh's grow_cost,
# with the floor under the same writer). Not a test: "# manual".
# manual
# own-boot
# timeout: 900
BENCH_PARTS=grow_cost
. /tests/bench.sh
