# results.csv -> medians.csv: per workload x engine, the median over the
# successful repetitions of each measure, and each engine's ratios to the
# posixaio-under-glibc row, the libaio row and the io_uring row of the same
# workload (ratios of medians); iops_w (write IOPS of a randrw row) and its
# ratios; threads_peak, the most tasks seen in any of those repetitions. Runs that shared the machine with other work (shared=1) are
# left out when at least one repetition did not. POSIX awk.
#
# awk -F, -v workloads="w1 w2 ..." -v engines="e1 e2 ..." -f medians.awk results.csv
BEGIN {
	nw = split(workloads, W, " ")
	ne = split(engines, E, " ")
	nm = split("iops lat_avg_us lat_p99_us cpu_per_io_us cpu_per_io_raw_us threads_max rss_peak_kb vsz_peak_kb iops_w disk_reads_per_read", M, " ")
}
NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}
{
	k = $col["workload"] SUBSEP $col["engine"]
	if ($col["status"] != "ok") {
		nfail[k]++
		next
	}
	i = ++n[k]
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

END {
	printf "workload,engine,n,failed,iops,lat_avg_us,lat_p99_us,cpu_per_io_us,cpu_per_io_raw_us,threads_max,rss_peak_kb,vsz_peak_kb,"
	printf "iops_vs_glibc,cpu_vs_glibc,iops_vs_libaio,cpu_vs_libaio,iops_min,iops_max,shared_left_out,"
	print "iops_vs_io_uring,cpu_vs_io_uring,iops_w,iops_w_vs_glibc,iops_w_vs_libaio,iops_w_vs_io_uring,threads_peak,disk_reads_per_read"
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
			printf ",%s,%s,%s,%s,%s,%s,%s,%s\n",
				ratio(med[E[e], "iops"], med["io_uring", "iops"]),
				ratio(med[E[e], "cpu_per_io_us"], med["io_uring", "cpu_per_io_us"]),
				(w_ == "") ? "" : sprintf("%.0f", w_),
				ratio(w_, med["glibc", "iops_w"]), ratio(w_, med["libaio", "iops_w"]),
				ratio(w_, med["io_uring", "iops_w"]), peak[E[e]],
				(med[E[e], "disk_reads_per_read"] == "") ? "" : sprintf("%.3f", med[E[e], "disk_reads_per_read"])
		}
	}
}
