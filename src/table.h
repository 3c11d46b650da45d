/* The aiocb -> request map. GLib stays behind this interface. */
#ifndef KAIO_TABLE_H
#define KAIO_TABLE_H

struct kaio_table;

struct kaio_table *kaio_table_new(void);
void kaio_table_free(struct kaio_table *t);
/* Maps key to val, replacing what key mapped to. */
void kaio_table_put(struct kaio_table *t, const void *key, void *val);
void *kaio_table_lookup(struct kaio_table *t, const void *key);
/* Removes key only while it still maps to val. */
void kaio_table_remove(struct kaio_table *t, const void *key, const void *val);
unsigned kaio_table_size(struct kaio_table *t);

#endif
