# medians.csv -> a gnuplot data file: one line per workload, one column per
# engine ("?" where there is no value); the fio rows only. POSIX awk.
#   awk -F, -v measure=iops -v engines="glibc kaio ..." -f plotdata.awk medians.csv
BEGIN {
	ne = split(engines, E, " ")
	label["glibc"] = "posixaio (glibc)"
	label["kaio"] = "posixaio (kaio)"
	label["kaio-nouring"] = "posixaio (kaio, KAIO_URING=0)"
	label["kaio-base"] = "posixaio (kaio-base)"
	printf "\"workload\""
	for (e = 1; e <= ne; e++)
		printf " \"%s\"", (E[e] in label) ? label[E[e]] : E[e]
	printf "\n"
}
NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}
# Bogo ops and round trips are not fio I/Os: the POSIX AIO programs stay out.
$col["workload"] ~ /^(stress-ng|roundtrip)-/ {
	next
}
{
	w = $col["workload"]
	if (!(w in seen)) {
		seen[w] = 1
		order[++nw] = w
	}
	val[w, $col["engine"]] = $col[measure]
}
END {
	for (i = 1; i <= nw; i++) {
		printf "\"%s\"", order[i]
		for (e = 1; e <= ne; e++) {
			x = val[order[i], E[e]]
			printf " %s", (x == "") ? "?" : x
		}
		printf "\n"
	}
}
