/* The aiocb -> request map. GLib stays behind this interface. */
#ifndef KAIO_TABLE_H
#define KAIO_TABLE_H

struct kaio_table;

struct kaio_table *kaio_table_new(void);
void kaio_table_free(struct kaio_table *t);
/* 0, or -EEXIST when the key is present (the table is left unchanged). */
int kaio_table_insert(struct kaio_table *t, const void *key, void *val);
void *kaio_table_lookup(struct kaio_table *t, const void *key);
void kaio_table_remove(struct kaio_table *t, const void *key);
unsigned kaio_table_size(struct kaio_table *t);

#endif
