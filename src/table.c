/*
 * The aiocb -> request map: a GHashTable keyed by pointer. The engine's lock
 * protects it; GLib is used nowhere else. Inserting, removing and resizing
 * may allocate, so the engine never calls these from paths that must be
 * async-signal-safe, and keeps finished requests mapped for their aiocb's
 * next submission rather than insert and remove per request (submit.c).
 */
#include <glib.h>

#include "table.h"

struct kaio_table *kaio_table_new(void)
{
	return (struct kaio_table *)g_hash_table_new(g_direct_hash, g_direct_equal);
}

void kaio_table_free(struct kaio_table *t)
{
	if (t)
		g_hash_table_destroy((GHashTable *)t);
}

void kaio_table_put(struct kaio_table *t, const void *key, void *val)
{
	g_hash_table_insert((GHashTable *)t, (gpointer)key, val);
}

void *kaio_table_lookup(struct kaio_table *t, const void *key)
{
	return g_hash_table_lookup((GHashTable *)t, key);
}

void kaio_table_remove(struct kaio_table *t, const void *key, const void *val)
{
	GHashTable *h = (GHashTable *)t;

	if (g_hash_table_lookup(h, key) == val)
		g_hash_table_remove(h, key);
}

unsigned kaio_table_size(struct kaio_table *t)
{
	return g_hash_table_size((GHashTable *)t);
}
