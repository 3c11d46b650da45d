# One run (fio, stress-ng or roundtrip) -> one line of results.csv. POSIX awk
# (Debian's mawk is enough).
#
# awk -v seq= -v rep= -v workload= -v engine= -v bs= -v kind= -v base= -v cache= \
#     -v jiffies= -v disk= -v direct= -v dreads= -v expect_reads= \
#     -v slat_avg= -v slat_p99= \
#     -f parse.awk FS=' ' RUN.stat FS=';' RUN.out FS=' ' RUN.err
#
# kind:     fio (default), stress or roundtrip.
# RUN.stat: runstat's line (key=value ...), the whole process.
# RUN.out:  fio --output-format=terse,json: the terse line (version 3) with
#           --lat_percentiles=1, so the 20 percentile fields hold total latency
#           (submit to completion), like the mean taken from the lat (not clat)
#           fields. Engines that complete inside submit (kaio and libaio on
#           buffered files) would show near-zero clat: only total latency
#           compares across engines. The JSON after it is read by bench.sh
#           (slat_avg, slat_p99: fio's submission latency, µs).
#           roundtrip: its one line "roundtrip ... requests=N rate=R
#           lat_avg_us=A lat_p99_us=P": IOPS = round trips per second.
#           stress: nothing (stress-ng logs on stderr).
# RUN.err:  fio's stderr; for kaio the KAIO_STATS line
#           "kaio: kernel=N sync_fallback=N glibc=N ...", kept whole in
#           kaio_stats (commas made ';'); and fio's verify complaints.
#           stress: stress-ng's log: the metrics line of the aio stressor
#           (IOPS = bogo ops/s in real time, ios = bogo ops), and any "fail:"
#           line (a failed --verify) makes the status fail:verify-stress-ng-N.
# base:     CPU seconds of a fio run of this engine that does one I/O (fio's
#           start-up and exit), subtracted for cpu_per_io_us.
# jiffies:  user+nice+system jiffies of all CPUs (/proc/stat) during the run.
# disk:     reads+writes the data disk completed during the run; direct: 1 if
#           each of the run's I/Os went to the disk (O_DIRECT, cold reads).
# dreads:   reads the data disk completed during the run (cold rows only):
#           disk_reads_per_read is about 1 when no read found its block cached.
# expect_reads: set for the verify row: fio reads every block it wrote back
#           after the randrw phase, so its reads must reach this count; fewer
#           means the verification did not run to the end. A verify complaint
#           on stderr, fio's EILSEQ or too few reads is status fail:verify-*.
# A randrw run reports read IOPS in iops and write IOPS in iops_w; ios and
# the CPU per I/O count both directions.
FILENAME ~ /\.stat$/ {
	for (i = 1; i <= NF; i++) {
		eq = index($i, "=")
		if (eq)
			st[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	next
}
FILENAME ~ /\.out$/ && $1 == "3" && NF >= 90 {
	err = $5
	# Terse v3: read block starts at field 6, write block at 47, same layout.
	b = ($6 > 0) ? 6 : (($47 > 0) ? 47 : 0)
	rkb = $6
	wkb = $47
	if ($6 > 0 && $47 > 0)
		iops_w = $49
	if (b) {
		kb = rkb + wkb
		iops = $(b + 2)
		lat_avg = $(b + 34)
		for (i = b + 12; i <= b + 31; i++)
			if (index($i, "99.000000%=") == 1)
				p99 = substr($i, 12)
	}
	got = 1
	next
}
FILENAME ~ /\.out$/ && kind == "roundtrip" && index($0, "roundtrip ") == 1 {
	split($0, kv, " ")
	for (i in kv) {
		eq = index(kv[i], "=")
		if (eq)
			rt[substr(kv[i], 1, eq - 1)] = substr(kv[i], eq + 1)
	}
	if (rt["requests"] > 0) {
		got = b = 1
		err = 0
		iops = rt["rate"]
		ios_prog = rt["requests"]
		lat_avg = rt["lat_avg_us"]
		p99 = rt["lat_p99_us"]
	}
	next
}
FILENAME ~ /\.err$/ && kind == "stress" && $2 == "fail:" {
	sfail++
	next
}
FILENAME ~ /\.err$/ && kind == "stress" && $2 == "metrc:" && $4 == "aio" && $5 ~ /^[0-9]+$/ && NF >= 9 {
	got = b = 1
	err = 0
	ios_prog = $5
	iops = $9
	next
}
FILENAME ~ /\.err$/ && expect_reads != "" && tolower($0) ~ /verify|crc32c|bad magic|bad header/ {
	verr++
	next
}
FILENAME ~ /\.err$/ && $1 == "kaio:" && /kernel=/ {
	kst = substr($0, 7)
	gsub(/,/, ";", kst)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		if (eq)
			ks[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	next
}
END {
	status = "ok"
	reads = (rkb > 0) ? rkb * 1024 / bs : 0
	if (expect_reads != "" && (verr || err == 84))
		status = "fail:verify-errors-" (verr ? verr : "EILSEQ")
	else if (sfail)
		status = "fail:verify-stress-ng-" sfail
	else if (st["exit"] == "")
		status = "fail:no-runstat-result"
	else if (st["exit"] != 0)
		status = "fail:exit-" st["exit"]
	else if (!got)
		status = (kind == "stress" || kind == "roundtrip") ? "fail:no-result-line" : "fail:no-terse-line"
	else if (err != 0)
		status = "fail:fio-error-" err
	else if (!b || (ios_prog == "" && kb <= 0))
		status = "fail:no-io"
	# kaio handed the requests to glibc (e.g. no AIO context): not kaio's numbers.
	else if (engine ~ /^kaio/ && ks["glibc"] + 0 > 0)
		status = "fail:kaio-sent-" ks["glibc"] "-to-glibc"
	else if (expect_reads != "" && reads < expect_reads)
		status = "fail:verify-incomplete-" reads "-of-" expect_reads "-reads"
	ios = (ios_prog != "") ? ios_prog : (kb > 0) ? kb * 1024 / bs : 0
	cpu = st["cpu_user_s"] + st["cpu_sys_s"]
	net = cpu - base
	if (net < 0)
		net = 0
	printf "%d,%d,%s,%s,%s,", seq, rep, workload, engine, status
	if (status == "ok")
		printf "%d,%s,%s,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,",
			iops, (lat_avg == "") ? "" : sprintf("%.1f", lat_avg), p99, ios, st["wall_s"], st["cpu_user_s"],
			st["cpu_sys_s"], base, net * 1e6 / ios, cpu * 1e6 / ios
	else
		printf ",,,,%s,%s,%s,%s,,,", st["wall_s"], st["cpu_user_s"], st["cpu_sys_s"], base
	printf "%s,%s,%s,%s,%s,%s,%s,", st["threads_max"], st["rss_peak_kb"],
		st["vsz_peak_kb"], cache, ks["kernel"], ks["sync_fallback"], ks["glibc"]
	# CPU time the other tasks of the machine used during the run (tick-based,
	# so +-0.02 s): a busy machine skews the numbers.
	other_cpu = (jiffies != "" && st["exit"] != "") ? sprintf("%.2f", jiffies / 100 - cpu) : ""
	# I/Os the data disk did for others: O_DIRECT runs account for their own.
	other_ios = (disk == "") ? "" : disk - (direct ? ios : 0)
	# shared=1: more than 20% of a CPU, or 2% more disk I/Os, went to others.
	shared = (other_cpu != "" && other_cpu + 0 > 0.2 * st["wall_s"]) ||
		(other_ios != "" && other_ios > 200 && other_ios > 0.02 * ios)
	printf "%s,%s,%d,", other_cpu, other_ios, shared
	printf "%s,%d,%s,%s,%s,%s,", (status == "ok") ? iops_w : "", reads, dreads,
		(dreads != "" && reads > 0) ? sprintf("%.3f", dreads / reads) : "",
		(expect_reads != "") ? verr + 0 : "", kst
	printf "%s,%s\n", (status == "ok" && slat_avg != "") ? sprintf("%.2f", slat_avg) : "",
		(status == "ok" && slat_p99 != "") ? sprintf("%.2f", slat_p99) : ""
}
