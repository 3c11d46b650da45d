/* What gen.c and mt.c do alike with a thread's slots: the PRNG and output
 * on a thread, the stuck dump, the slot queries and the reap step. Each
 * file includes this after its own struct slot (st, cb, desc, sub_step),
 * struct th (id, rng, step, o, slots), NSLOT, the S_* states and threads[];
 * wait_set and finish are its own, defined further on.
 */
#ifndef DIFF_SLOTS_H
#define DIFF_SLOTS_H

static void wait_set(struct th *t, const int *idx, int k);
static void finish(struct th *t, int idx, int want_return);

static uint64_t rnd(struct th *t)
{
	return mix(&t->rng);
}

static unsigned below(struct th *t, unsigned n)
{
	return n ? (unsigned)(rnd(t) % n) : 0;
}

static int chance(struct th *t, unsigned pct)
{
	return below(t, 100) < pct;
}

static void __attribute__((format(printf, 2, 3))) out(struct th *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vout(&t->o, t->id, t->step, fmt, ap);
	va_end(ap);
}

/* What the stuck thread waits for, on stderr (the aiocbs' own fields: a
 * call could block on the very lock that is stuck). */
static void stuck_dump(int id)
{
	struct th *t = &threads[id];
	fwrite(t->o.p, 1, t->o.len, stderr);
	for (int i = 0; i < NSLOT; i++) {
		struct slot *s = &t->slots[i];
		if (s->st == S_PENDING)
			fprintf(stderr, "pending %s (step %d): __error_code %d\n",
				s->desc, s->sub_step,
				__atomic_load_n(&s->cb.__error_code, __ATOMIC_ACQUIRE));
	}
}

static int overlap(off_t a, size_t an, off_t b, size_t bn)
{
	return a < b + (off_t)bn && b < a + (off_t)an;
}

/* Requests pending on fd (the program's view). */
static int pending_on(struct th *t, int fd)
{
	int n = 0;
	for (int i = 0; i < NSLOT; i++)
		n += t->slots[i].st == S_PENDING && t->slots[i].cb.aio_fildes == fd;
	return n;
}

static int free_slot(struct th *t)
{
	int c[NSLOT], n = 0;
	for (int i = 0; i < NSLOT; i++)
		if (t->slots[i].st != S_PENDING)
			c[n++] = i;
	return n ? c[below(t, (unsigned)n)] : -1;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void op_reap(struct th *t)
{
	int pend[NSLOT], np = 0, pick[NSLOT], k = 0;
	for (int i = 0; i < NSLOT; i++)
		if (t->slots[i].st == S_PENDING)
			pend[np++] = i;
	if (!np) {
		out(t, "reap: nothing pending");
		return;
	}
	if (chance(t, 25)) {
		memcpy(pick, pend, sizeof(int) * (size_t)np);
		k = np;
	} else {
		int want = 1 + (int)below(t, np < 3 ? (unsigned)np : 3);
		while (k < want) {
			int c = pend[below(t, (unsigned)np)], dup = 0;
			for (int i = 0; i < k; i++)
				dup |= pick[i] == c;
			if (!dup)
				pick[k++] = c;
		}
		qsort(pick, (size_t)k, sizeof(int), cmp_int);
	}
	wait_set(t, pick, k);
	for (int i = 0; i < k; i++)
		finish(t, pick[i], chance(t, 75));
}

static int is_done(const struct slot *s)
{
	return s->st == S_DONE || s->st == S_RETURNED;
}

static int is_pending(const struct slot *s)
{
	return s->st == S_PENDING;
}

#endif
