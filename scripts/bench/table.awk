# medians.csv -> markdown. POSIX awk.
#   awk -F, -v which=full -f table.awk medians.csv     every engine, every measure
#   awk -F, -v which=kaio -f table.awk medians.csv     kaio's ratios per workload
#   awk -F, -v which=cold -f table.awk medians.csv     cold buffered rows, IOPS of
#                                                      every engine side by side
#   awk -F, -v which=scaling -f table.awk medians.csv  the qd32 rows at 1 to 16 threads
#   awk -F, -v which=cached -f table.awk medians.csv   cached reads and buffered writes
#                                                      against psync, syscalls per I/O
#   awk -F, -v which=sync -f table.awk medians.csv     O_SYNC / O_DSYNC writes, slat
#   awk -F, -v which=programs -f table.awk medians.csv stress-ng and roundtrip rows
#   awk -F, -v which=targets -f table.awk medians.csv  the targets of issues 10 and 11
#   awk -F, -v which=below -f table.awk medians.csv    every row where kaio's median
#                                                      IOPS is below glibc's
#   awk -F, -v which=ab -f table.awk medians.csv       kaio ÷ kaio-base, every row
#   awk -F, -v which=slower -f table.awk medians.csv   the rows flagged slower than base
# Ratio columns: this row's median divided by the median of the posixaio-under-
# glibc row (÷glibc), of fio's libaio engine (÷libaio), of fio's io_uring
# engine (÷io_uring) or of psync (÷psync) in the same workload. A randrw row
# shows read / write.
# CPU/IO: CPU time of the whole fio process (all threads, user+sys) per I/O,
# with fio's own start-up and exit cost subtracted. IOPS of the stress-ng rows
# are bogo ops/s, of the roundtrip rows round trips/s.
BEGIN {
	label["glibc"] = "posixaio (glibc)"
	label["kaio"] = "posixaio (kaio)"
	label["kaio-nouring"] = "posixaio (kaio, KAIO_URING=0)"
	label["kaio-base"] = "posixaio (kaio-base)"
	label["libaio"] = "libaio"
	label["io_uring"] = "io_uring"
	label["psync"] = "psync"
	ne = split("glibc kaio kaio-nouring kaio-base libaio io_uring psync", E, " ")
}
NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	if (which == "kaio") {
		print "| workload | IOPS kaio÷glibc | CPU/IO kaio÷glibc | IOPS kaio÷libaio | CPU/IO kaio÷libaio | IOPS kaio÷io_uring | IOPS kaio÷psync | kaio IOPS | kaio CPU/IO (µs) | kaio syscalls/IO |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	} else if (which == "full") {
		print "| workload | engine | IOPS | lat avg (µs) | lat p99 (µs) | slat avg (µs) | CPU/IO (µs) | threads | RSS (MiB) | VSZ (MiB) | IOPS ÷glibc | CPU/IO ÷glibc | IOPS ÷libaio | CPU/IO ÷libaio | IOPS ÷io_uring | IOPS ÷psync | syscalls/IO |"
		print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	}
	next
}
function f(x, d) {
	return (x == "") ? "–" : sprintf("%." d "f", x)
}
function lat(x) {
	return (x == "") ? "–" : (x < 100 ? sprintf("%.1f", x) : sprintf("%.0f", x))
}
function mib(x) {
	return (x == "") ? "–" : sprintf("%.0f", x / 1024)
}
# get(W, E, NAME): a field of workload W, engine E ("" if there is none).
function get(w, e, name) {
	return ((w, e, name) in v) ? v[w, e, name] : ""
}
# rw(W, E, A, B, D): field A, and " / " field B when the row has B (randrw).
function rw(w, e, a, b, d,    x) {
	x = f(get(w, e, a), d)
	if (get(w, e, b) != "")
		x = x " / " f(get(w, e, b), d)
	return x
}
{
	w = $col["workload"]
	if (!(w in seen)) {
		seen[w] = 1
		order[++nw] = w
	}
	for (c in col)
		v[w, $col["engine"], c] = $col[c]
	engine_seen[$col["engine"]] = 1
}
which == "kaio" && $col["engine"] == "kaio" {
	printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w,
		rw(w, "kaio", "iops_vs_glibc", "iops_w_vs_glibc", 2), f($col["cpu_vs_glibc"], 2),
		rw(w, "kaio", "iops_vs_libaio", "iops_w_vs_libaio", 2), f($col["cpu_vs_libaio"], 2),
		rw(w, "kaio", "iops_vs_io_uring", "iops_w_vs_io_uring", 2), f($col["iops_vs_psync"], 2),
		rw(w, "kaio", "iops", "iops_w", 0), f($col["cpu_per_io_us"], 2), f($col["syscalls_per_io"], 2)
}
which == "full" {
	e = $col["engine"]
	name = label[e] != "" ? label[e] : e
	if ($col["failed"] > 0)
		name = name " (" $col["failed"] " failed)"
	printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		w, name, rw(w, e, "iops", "iops_w", 0), lat($col["lat_avg_us"]),
		lat($col["lat_p99_us"]), lat($col["slat_avg_us"]), f($col["cpu_per_io_us"], 2), f($col["threads_max"], 0),
		mib($col["rss_peak_kb"]), mib($col["vsz_peak_kb"]),
		rw(w, e, "iops_vs_glibc", "iops_w_vs_glibc", 2), f($col["cpu_vs_glibc"], 2),
		rw(w, e, "iops_vs_libaio", "iops_w_vs_libaio", 2), f($col["cpu_vs_libaio"], 2),
		rw(w, e, "iops_vs_io_uring", "iops_w_vs_io_uring", 2), f($col["iops_vs_psync"], 2),
		f($col["syscalls_per_io"], 2)
}

function cold() {
	print "| workload | glibc | kaio | kaio URING=0 | libaio | io_uring | psync | kaio ÷glibc | kaio ÷libaio | kaio ÷io_uring | URING=0 ÷glibc | tasks: kaio | URING=0 | libaio | io_uring | disk reads per read (kaio) |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nw; i++) {
		w = order[i]
		if (w !~ /-cold-/)
			continue
		printf "| %s", w
		split("glibc kaio kaio-nouring libaio io_uring psync", C, " ")
		for (e = 1; e <= 6; e++)
			printf " | %s", rw(w, C[e], "iops", "iops_w", 0)
		printf " | %s | %s | %s | %s", rw(w, "kaio", "iops_vs_glibc", "iops_w_vs_glibc", 2),
			rw(w, "kaio", "iops_vs_libaio", "iops_w_vs_libaio", 2),
			rw(w, "kaio", "iops_vs_io_uring", "iops_w_vs_io_uring", 2),
			rw(w, "kaio-nouring", "iops_vs_glibc", "iops_w_vs_glibc", 2)
		printf " | %s | %s | %s | %s | %s |\n", f(get(w, "kaio", "threads_peak"), 0),
			f(get(w, "kaio-nouring", "threads_peak"), 0), f(get(w, "libaio", "threads_peak"), 0),
			f(get(w, "io_uring", "threads_peak"), 0), f(get(w, "kaio", "disk_reads_per_read"), 2)
		if (w ~ /-verify$/) {
			runs = 0
			bad = ""
			for (e = 1; e <= ne; e++) {
				runs += get(w, E[e], "n")
				if (get(w, E[e], "failed") > 0)
					bad = bad " " E[e] " (" get(w, E[e], "failed") ")"
			}
			note = bad == "" ? sprintf("%s: all %d runs read back and checked every block they wrote, no verify error.", w, runs) : \
				sprintf("%s: FAILED runs (a verify error, or not every written block read back, or another failure):%s.", w, bad)
		}
	}
	if (note != "") {
		print ""
		print note
	}
}

function scaling(    kind, k, j, w, e) {
	print "| reads, QD 32 per thread | threads | glibc | kaio | libaio | io_uring | psync | kaio ÷libaio | kaio ÷glibc | kaio ÷io_uring | kaio ÷psync |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	split("direct cached", K, " ")
	for (k = 1; k <= 2; k++) {
		for (j = 1; j <= 16; j *= 2) {
			w = "read-" K[k] "-qd32" (j > 1 ? "-" j "j" : "")
			if (!(w in seen))
				continue
			printf "| %s | %d", K[k] == "direct" ? "O_DIRECT" : "cached", j
			split("glibc kaio libaio io_uring psync", S, " ")
			for (e = 1; e <= 5; e++)
				printf " | %s", f(get(w, S[e], "iops"), 0)
			printf " | %s | %s | %s | %s |\n", f(get(w, "kaio", "iops_vs_libaio"), 2),
				f(get(w, "kaio", "iops_vs_glibc"), 2), f(get(w, "kaio", "iops_vs_io_uring"), 2),
				f(get(w, "kaio", "iops_vs_psync"), 2)
		}
	}
}

# Cached reads and buffered writes: psync (one pread/pwrite per I/O, in the
# caller) is the limit; syscalls per I/O from the syscall pass.
function cached(    i, w, e, S, x) {
	print "| cached / buffered | glibc | kaio | libaio | io_uring | psync | kaio ÷glibc | kaio ÷libaio | kaio ÷io_uring | kaio ÷psync | syscalls/IO: glibc | kaio | libaio | io_uring | psync | kaio's most frequent syscalls per I/O |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	split("glibc kaio libaio io_uring psync", S, " ")
	for (i = 1; i <= nw; i++) {
		w = order[i]
		if (w !~ /^(read-cached|write-buffered)-/)
			continue
		printf "| %s", w
		for (e = 1; e <= 5; e++)
			printf " | %s", f(get(w, S[e], "iops"), 0)
		printf " | %s | %s | %s | %s", f(get(w, "kaio", "iops_vs_glibc"), 2), f(get(w, "kaio", "iops_vs_libaio"), 2),
			f(get(w, "kaio", "iops_vs_io_uring"), 2), f(get(w, "kaio", "iops_vs_psync"), 2)
		for (e = 1; e <= 5; e++)
			printf " | %s", f(get(w, S[e], "syscalls_per_io"), 2)
		x = get(w, "kaio", "top_syscalls")
		printf " | %s |\n", x == "" ? "–" : x
	}
}

# O_SYNC / O_DSYNC buffered writes: IOPS and fio's submission latency (slat:
# the time inside aio_write for posixaio, inside io_submit for libaio).
function syncw(    i, w, e, name) {
	print "| O_SYNC / O_DSYNC writes | engine | IOPS | slat avg (µs) | slat p99 (µs) | lat avg (µs) | lat p99 (µs) | IOPS ÷glibc | syscalls/IO |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nw; i++) {
		w = order[i]
		if (w !~ /^write-o(d)?sync-/)
			continue
		for (e = 1; e <= ne; e++) {
			if (get(w, E[e], "n") == "")
				continue
			name = label[E[e]]
			if (get(w, E[e], "failed") > 0)
				name = name " (" get(w, E[e], "failed") " failed)"
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w, name, f(get(w, E[e], "iops"), 0),
				lat(get(w, E[e], "slat_avg_us")), lat(get(w, E[e], "slat_p99_us")),
				lat(get(w, E[e], "lat_avg_us")), lat(get(w, E[e], "lat_p99_us")),
				f(get(w, E[e], "iops_vs_glibc"), 2), f(get(w, E[e], "syscalls_per_io"), 2)
		}
	}
}

# The POSIX AIO programs: stress-ng (bogo ops/s) and roundtrip (round trips/s).
function programs(    i, w, b) {
	b = ("kaio-base" in engine_seen)
	printf "| program | glibc | kaio |%s kaio ÷glibc | CPU/op (µs): glibc | kaio | latency avg / p99 (µs): glibc | kaio | syscalls/op: glibc | kaio |\n", b ? " kaio-base | kaio ÷base |" : ""
	printf "|---|---:|---:|%s---:|---:|---:|---:|---:|---:|---:|\n", b ? "---:|---:|" : ""
	for (i = 1; i <= nw; i++) {
		w = order[i]
		if (w !~ /^(stress-ng|roundtrip)-/)
			continue
		printf "| %s | %s | %s", w, f(get(w, "glibc", "iops"), 0), f(get(w, "kaio", "iops"), 0)
		if (b)
			printf " | %s | %s", f(get(w, "kaio-base", "iops"), 0), f(get(w, "kaio", "iops_vs_base"), 2)
		printf " | %s | %s | %s", f(get(w, "kaio", "iops_vs_glibc"), 2),
			f(get(w, "glibc", "cpu_per_io_us"), 2), f(get(w, "kaio", "cpu_per_io_us"), 2)
		if (w ~ /^roundtrip-/)
			printf " | %s / %s | %s / %s", lat(get(w, "glibc", "lat_avg_us")), lat(get(w, "glibc", "lat_p99_us")),
				lat(get(w, "kaio", "lat_avg_us")), lat(get(w, "kaio", "lat_p99_us"))
		else
			printf " | – | –"
		printf " | %s | %s |\n", f(get(w, "glibc", "syscalls_per_io"), 2), f(get(w, "kaio", "syscalls_per_io"), 2)
	}
}

# Every row where kaio's median IOPS (read or write) is below glibc's.
function below(    i, w, r, x, n) {
	n = 0
	for (i = 1; i <= nw; i++) {
		w = order[i]
		r = get(w, "kaio", "iops_vs_glibc")
		x = get(w, "kaio", "iops_w_vs_glibc")
		if ((r == "" || r + 0 >= 1) && (x == "" || x + 0 >= 1))
			continue
		if (!n++) {
			print "| workload | kaio ÷glibc | kaio IOPS | glibc IOPS |"
			print "|---|---:|---:|---:|"
		}
		printf "| %s | %s | %s | %s |\n", w, rw(w, "kaio", "iops_vs_glibc", "iops_w_vs_glibc", 2),
			rw(w, "kaio", "iops", "iops_w", 0), rw(w, "glibc", "iops", "iops_w", 0)
	}
	if (!n)
		print "None: kaio's median is at or above glibc's in every row."
}

# kaio ÷ kaio-base, every row; SLOWER: see medians.awk (base_slower).
function abtable(    i, w, x) {
	print "| workload | kaio IOPS | kaio-base IOPS | kaio ÷base | per repetition (n) | CPU/IO kaio ÷base | |"
	print "|---|---:|---:|---:|---|---:|---|"
	for (i = 1; i <= nw; i++) {
		w = order[i]
		if (get(w, "kaio", "iops_vs_base") == "")
			continue
		x = get(w, "kaio", "base_slower")
		printf "| %s | %s | %s | %s | %s–%s (%s) | %s | %s |\n", w, f(get(w, "kaio", "iops"), 0),
			f(get(w, "kaio-base", "iops"), 0), f(get(w, "kaio", "iops_vs_base"), 2),
			f(get(w, "kaio", "base_rep_min"), 2), f(get(w, "kaio", "base_rep_max"), 2),
			get(w, "kaio", "base_reps"), f(get(w, "kaio", "cpu_vs_base"), 2),
			x == 1 ? "**SLOWER**" : (x == "" ? "no verdict (< 3 repetitions)" : "")
	}
}

function slower(    i, w, n) {
	n = 0
	for (i = 1; i <= nw; i++) {
		w = order[i]
		if (get(w, "kaio", "base_slower") != 1)
			continue
		if (!n++) {
			print "| workload | kaio ÷base | per repetition |"
			print "|---|---:|---|"
		}
		printf "| %s | %s | %s–%s |\n", w, f(get(w, "kaio", "iops_vs_base"), 2),
			f(get(w, "kaio", "base_rep_min"), 2), f(get(w, "kaio", "base_rep_max"), 2)
	}
	if (!n)
		print "None: no row is slower than kaio-base beyond the noise rule (it needs at least 3 repetitions)."
}

# target(ISSUE, WORKLOAD, FIELD, MIN, TEXT): one line; kaio's FIELD >= MIN.
function target(issue, w, field, min, text,    x, met) {
	if (!(w in seen))
		return
	x = get(w, "kaio", field)
	met = (x == "") ? "–" : (x + 0 >= min ? "yes" : "**no**")
	printf "| %s | %s | %s | %s | %s |\n", issue, w, text, f(x, 2), met
}

# tasks(WORKLOAD): kaio adds no task: its peak is at most fio's libaio engine's.
function tasks(w,    k, l, met) {
	if (!(w in seen))
		return
	k = get(w, "kaio", "threads_peak")
	l = get(w, "libaio", "threads_peak")
	met = (k == "" || l == "") ? "–" : (k + 0 <= l + 0 ? "yes" : "**no**")
	printf "| 11 | %s | tasks: kaio ≤ libaio | %s vs %s | %s |\n", w, f(k, 0), f(l, 0), met
}

function targets(    w, failed) {
	print "| issue | workload | kaio target | measured | met |"
	print "|---|---|---|---:|---|"
	target(10, "read-cold-qd8-4j", "iops_vs_libaio", 0.9, "≥ 0.9× libaio")
	target(10, "read-cold-qd8-4j", "iops_vs_glibc", 1.2, "≥ 1.2× glibc")
	w = "randrw-cold-qd64-4j-verify"
	target(10, w, "iops_vs_glibc", 1.0, "read ≥ 1.0× glibc")
	target(10, w, "iops_w_vs_glibc", 1.0, "write ≥ 1.0× glibc")
	if (w in seen) {
		failed = get(w, "kaio", "failed")
		printf "| 10 | %s | no verify error (no failed run) | %s failed | %s |\n", w, f(failed, 0),
			failed == "" ? "–" : (failed + 0 == 0 ? "yes" : "**no**")
	}
	target(10, "read-direct-qd32", "iops_vs_libaio", 0.95, "≥ 0.95× libaio")
	target("10, 11", "read-cached-qd1", "iops_vs_libaio", 1.0, "≥ 1.0× libaio")
	target(10, "read-direct-qd32-2j", "iops_vs_libaio", 0.9, "≥ 0.9× libaio")
	target(10, "read-direct-qd32-4j", "iops_vs_libaio", 0.9, "≥ 0.9× libaio")
	target(10, "read-cached-qd32-2j", "iops_vs_libaio", 0.9, "≥ 0.9× libaio")
	target(10, "read-cached-qd32-4j", "iops_vs_libaio", 0.9, "≥ 0.9× libaio")
	target(11, "read-cold-qd16", "iops_vs_io_uring", 0.8, "≥ 0.8× io_uring")
	target(11, "read-cold-qd16", "iops_vs_glibc", 3, "≥ 3× glibc")
	target(11, "read-cold-qd16-4fd", "iops_vs_glibc", 2, "≥ 2× glibc")
	tasks("read-cold-qd16")
	tasks("read-cold-qd16-4fd")
}

END {
	if (which == "cold")
		cold()
	else if (which == "scaling")
		scaling()
	else if (which == "targets")
		targets()
	else if (which == "cached")
		cached()
	else if (which == "sync")
		syncw()
	else if (which == "programs")
		programs()
	else if (which == "below")
		below()
	else if (which == "ab")
		abtable()
	else if (which == "slower")
		slower()
}
