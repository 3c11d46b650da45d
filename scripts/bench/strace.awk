# One run under `strace -f -c` -> one line of syscalls.csv:
#   workload,engine,ios,syscalls,syscalls_per_io,top_syscalls
# POSIX awk.
#
# awk -v workload= -v engine= -v kind= -v startup=START.strace -f strace.awk \
#     START.strace RUN.strace RUN.out RUN.err
#
# START.strace: the counts of a one-I/O fio run of the same engine (fio's
#   start-up and exit), subtracted name by name; /dev/null for none.
# RUN.out, RUN.err: the run's output, for its I/Os: fio's terse line (read
#   plus write KiB / 4), roundtrip's requests=, stress-ng's bogo ops.
# syscalls: every kind counted by strace, the start-up's removed;
# top_syscalls: the most frequent kinds with their count per I/O,
#   "io_submit:1.00 futex:0.02" (at most 5, none below 0.005).
FILENAME ~ /\.strace$/ && $1 ~ /^[0-9]+\.[0-9]+$/ && NF >= 5 && $NF != "total" {
	n[$NF] += (FILENAME == startup) ? -$4 : $4
	next
}
FILENAME ~ /\.out$/ && kind == "fio" && index($0, "3;") == 1 {
	if (split($0, f, ";") >= 90)
		ios = (f[6] + f[47]) * 1024 / 4096
	next
}
FILENAME ~ /\.out$/ && kind == "roundtrip" && $1 == "roundtrip" {
	for (i = 2; i <= NF; i++)
		if (index($i, "requests=") == 1)
			ios = substr($i, 10) + 0
	next
}
FILENAME ~ /\.err$/ && kind == "stress" && $2 == "metrc:" && $4 == "aio" && $5 ~ /^[0-9]+$/ {
	ios = $5 + 0
}
END {
	total = 0
	k = 0
	for (s in n) {
		if (n[s] <= 0)
			continue
		total += n[s]
		name[++k] = s
	}
	if (ios <= 0) {
		printf "%s,%s,,%d,,\n", workload, engine, total
		exit
	}
	# Sort the names by count, most first (insertion sort: a few dozen).
	for (i = 2; i <= k; i++) {
		x = name[i]
		for (j = i - 1; j >= 1 && n[name[j]] < n[x]; j--)
			name[j + 1] = name[j]
		name[j + 1] = x
	}
	top = ""
	for (i = 1; i <= k && i <= 5; i++) {
		if (n[name[i]] / ios < 0.005)
			break
		top = top (top == "" ? "" : " ") sprintf("%s:%.2f", name[i], n[name[i]] / ios)
	}
	printf "%s,%s,%d,%d,%.3f,%s\n", workload, engine, ios, total, total / ios, top
}
