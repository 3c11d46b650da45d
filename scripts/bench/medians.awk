# results.csv -> medians.csv: per workload x engine, the median over the
# successful repetitions of each measure, and each engine's ratios to the
# posixaio-under-glibc row, the libaio row, the io_uring row and the psync row
# of the same workload (ratios of medians); iops_w (write IOPS of a randrw row)
# and its ratios; threads_peak, the most tasks seen in any of those
# repetitions; slat_avg_us, slat_p99_us (fio's submission latency). Runs that
# shared the machine with other work (shared=1) are left out when at least one
# repetition did not. POSIX awk.
# A/B (an engine kaio-base): iops_vs_base, cpu_vs_base (kaio ÷ kaio-base, ratios
# of medians, on kaio's line), base_rep_min/max (kaio ÷ kaio-base IOPS within
# each repetition where both ran, every run counted), base_reps (how many such
# repetitions) and base_slower: 1 when iops_vs_base < 0.95 and every
# repetition's ratio is below 1, over at least 3 repetitions; empty (no
# verdict) with fewer.
# syscalls.csv (optional second file, the syscall pass): syscalls_per_io and
# top_syscalls of that engine's one strace run.
#
# awk -F, -v workloads="w1 w2 ..." -v engines="e1 e2 ..." -f medians.awk results.csv [syscalls.csv]
BEGIN {
	nw = split(workloads, W, " ")
	ne = split(engines, E, " ")
	nm = split("iops lat_avg_us lat_p99_us cpu_per_io_us cpu_per_io_raw_us threads_max rss_peak_kb vsz_peak_kb iops_w disk_reads_per_read slat_avg_us slat_p99_us", M, " ")
}
FNR == 1 {
	split("", col)
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}
("syscalls_per_io" in col) {
	sc[$col["workload"], $col["engine"]] = $col["syscalls_per_io"]
	top[$col["workload"], $col["engine"]] = $col["top_syscalls"]
	next
}
{
	k = $col["workload"] SUBSEP $col["engine"]
	if ($col["status"] != "ok") {
		nfail[k]++
		next
	}
	i = ++n[k]
	if ($col["rep"] > maxrep)
		maxrep = $col["rep"]
	if ($col["iops"] != "")
		rv[k, $col["rep"]] = $col["iops"]
	for (m = 1; m <= nm; m++)
		v[k, M[m], i] = $col[M[m]]
	sh[k, i] = $col["shared"] == 1
	if (!sh[k, i])
		nclean[k]++
}

# Sorts the values of measure m of group k that are used into s[1..]; returns
# their count.
function pick(k, m, s,    i, j, x, cnt) {
	cnt = 0
	for (i = 1; i <= n[k]; i++) {
		if (nclean[k] && sh[k, i])
			continue
		if (v[k, m, i] == "")
			continue
		x = v[k, m, i] + 0
		for (j = cnt; j >= 1 && s[j] > x; j--)
			s[j + 1] = s[j]
		s[j + 1] = x
		cnt++
	}
	return cnt
}

function median(k, m,    s, cnt) {
	cnt = pick(k, m, s)
	if (!cnt)
		return ""
	if (cnt % 2)
		return s[(cnt + 1) / 2]
	return (s[cnt / 2] + s[cnt / 2 + 1]) / 2
}

function ratio(a, b) {
	return (a != "" && b != "" && b > 0) ? sprintf("%.3f", a / b) : ""
}

# ab(WORKLOAD): sets bmin, bmax (kaio ÷ kaio-base per repetition), bn and bslow.
function ab(w,    ka, kb, r, x, m) {
	bmin = bmax = bslow = bn = ""
	ka = w SUBSEP "kaio"
	kb = w SUBSEP "kaio-base"
	if (!n[ka] || !n[kb])
		return
	m = 0
	for (r = 1; r <= maxrep; r++) {
		if (!((ka, r) in rv) || !((kb, r) in rv) || rv[kb, r] <= 0)
			continue
		x = rv[ka, r] / rv[kb, r]
		if (!m || x < bmin)
			bmin = x
		if (!m || x > bmax)
			bmax = x
		m++
	}
	if (!m)
		return
	bn = m
	r = ratio(med["kaio", "iops"], med["kaio-base", "iops"])
	if (m >= 3)
		bslow = (r != "" && r + 0 < 0.95 && bmax < 1) ? 1 : 0
	bmin = sprintf("%.3f", bmin)
	bmax = sprintf("%.3f", bmax)
}

END {
	printf "workload,engine,n,failed,iops,lat_avg_us,lat_p99_us,cpu_per_io_us,cpu_per_io_raw_us,threads_max,rss_peak_kb,vsz_peak_kb,"
	printf "iops_vs_glibc,cpu_vs_glibc,iops_vs_libaio,cpu_vs_libaio,iops_min,iops_max,shared_left_out,"
	printf "iops_vs_io_uring,cpu_vs_io_uring,iops_w,iops_w_vs_glibc,iops_w_vs_libaio,iops_w_vs_io_uring,threads_peak,disk_reads_per_read,"
	print "iops_vs_psync,cpu_vs_psync,slat_avg_us,slat_p99_us,syscalls_per_io,top_syscalls,iops_vs_base,cpu_vs_base,base_rep_min,base_rep_max,base_slower,base_reps"
	for (w = 1; w <= nw; w++) {
		for (e = 1; e <= ne; e++) {
			k = W[w] SUBSEP E[e]
			for (m = 1; m <= nm; m++)
				med[E[e], M[m]] = n[k] ? median(k, M[m]) : ""
			split("", s)
			cnt[E[e]] = n[k] ? pick(k, "iops", s) : 0
			lo[E[e]] = cnt[E[e]] ? s[1] : ""
			hi[E[e]] = cnt[E[e]] ? s[cnt[E[e]]] : ""
			split("", s)
			c = n[k] ? pick(k, "threads_max", s) : 0
			peak[E[e]] = c ? s[c] : ""
		}
		ab(W[w])
		for (e = 1; e <= ne; e++) {
			k = W[w] SUBSEP E[e]
			if (!n[k] && !nfail[k])
				continue
			printf "%s,%s,%d,%d", W[w], E[e], cnt[E[e]], nfail[k]
			if (n[k])
				printf ",%.0f,%.1f,%.0f,%.3f,%.3f,%.0f,%.0f,%.0f",
					med[E[e], "iops"], med[E[e], "lat_avg_us"], med[E[e], "lat_p99_us"],
					med[E[e], "cpu_per_io_us"], med[E[e], "cpu_per_io_raw_us"],
					med[E[e], "threads_max"], med[E[e], "rss_peak_kb"], med[E[e], "vsz_peak_kb"]
			else
				printf ",,,,,,,,"
			printf ",%s,%s,%s,%s,%s,%s,%d",
				ratio(med[E[e], "iops"], med["glibc", "iops"]),
				ratio(med[E[e], "cpu_per_io_us"], med["glibc", "cpu_per_io_us"]),
				ratio(med[E[e], "iops"], med["libaio", "iops"]),
				ratio(med[E[e], "cpu_per_io_us"], med["libaio", "cpu_per_io_us"]),
				lo[E[e]], hi[E[e]], n[k] - cnt[E[e]]
			w_ = med[E[e], "iops_w"]
			printf ",%s,%s,%s,%s,%s,%s,%s,%s",
				ratio(med[E[e], "iops"], med["io_uring", "iops"]),
				ratio(med[E[e], "cpu_per_io_us"], med["io_uring", "cpu_per_io_us"]),
				(w_ == "") ? "" : sprintf("%.0f", w_),
				ratio(w_, med["glibc", "iops_w"]), ratio(w_, med["libaio", "iops_w"]),
				ratio(w_, med["io_uring", "iops_w"]), peak[E[e]],
				(med[E[e], "disk_reads_per_read"] == "") ? "" : sprintf("%.3f", med[E[e], "disk_reads_per_read"])
			kaio = E[e] == "kaio"
			printf ",%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n",
				ratio(med[E[e], "iops"], med["psync", "iops"]),
				ratio(med[E[e], "cpu_per_io_us"], med["psync", "cpu_per_io_us"]),
				(med[E[e], "slat_avg_us"] == "") ? "" : sprintf("%.2f", med[E[e], "slat_avg_us"]),
				(med[E[e], "slat_p99_us"] == "") ? "" : sprintf("%.2f", med[E[e], "slat_p99_us"]),
				sc[W[w], E[e]], top[W[w], E[e]],
				kaio ? ratio(med["kaio", "iops"], med["kaio-base", "iops"]) : "",
				kaio ? ratio(med["kaio", "cpu_per_io_us"], med["kaio-base", "cpu_per_io_us"]) : "",
				kaio ? bmin : "", kaio ? bmax : "", kaio ? bslow : "", kaio ? bn : ""
		}
	}
}
