# medians.csv -> markdown. POSIX awk.
#   awk -F, -v which=full -f table.awk medians.csv    every engine, every measure
#   awk -F, -v which=kaio -f table.awk medians.csv    kaio's ratios per workload
# Ratio columns: this row's median divided by the median of the posixaio-under-
# glibc row (÷glibc) or of fio's libaio engine (÷libaio) in the same workload.
# CPU/IO: CPU time of the whole fio process (all threads, user+sys) per I/O,
# with fio's own start-up and exit cost subtracted.
BEGIN {
	label["glibc"] = "posixaio (glibc)"
	label["kaio"] = "posixaio (kaio)"
	label["libaio"] = "libaio"
	label["io_uring"] = "io_uring"
	label["psync"] = "psync"
}
NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	if (which == "kaio") {
		print "| workload | IOPS kaio÷glibc | CPU/IO kaio÷glibc | IOPS kaio÷libaio | CPU/IO kaio÷libaio | kaio IOPS | kaio CPU/IO (µs) |"
		print "|---|---:|---:|---:|---:|---:|---:|"
	} else {
		print "| workload | engine | IOPS | lat avg (µs) | lat p99 (µs) | CPU/IO (µs) | threads | RSS (MiB) | VSZ (MiB) | IOPS ÷glibc | CPU/IO ÷glibc | IOPS ÷libaio | CPU/IO ÷libaio |"
		print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
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
which == "kaio" && $col["engine"] == "kaio" {
	printf "| %s | %s | %s | %s | %s | %s | %s |\n", $col["workload"],
		f($col["iops_vs_glibc"], 2), f($col["cpu_vs_glibc"], 2),
		f($col["iops_vs_libaio"], 2), f($col["cpu_vs_libaio"], 2),
		f($col["iops"], 0), f($col["cpu_per_io_us"], 2)
}
which != "kaio" {
	name = label[$col["engine"]] != "" ? label[$col["engine"]] : $col["engine"]
	if ($col["failed"] > 0)
		name = name " (" $col["failed"] " failed)"
	printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		$col["workload"], name, f($col["iops"], 0), lat($col["lat_avg_us"]),
		lat($col["lat_p99_us"]), f($col["cpu_per_io_us"], 2), f($col["threads_max"], 0),
		mib($col["rss_peak_kb"]), mib($col["vsz_peak_kb"]),
		f($col["iops_vs_glibc"], 2), f($col["cpu_vs_glibc"], 2),
		f($col["iops_vs_libaio"], 2), f($col["cpu_vs_libaio"], 2)
}
