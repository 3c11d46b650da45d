/*
 * The statistics file (KAIO_STATS_FILE): its layout, shared by the library
 * (statfile.c), which keeps it current, and its reader (kaio --show-stats,
 * scripts/kaio-check.c). The file is one page: a header, then the fields of
 * the statistics line in its order, each a name and a number, or a word
 * where text[0] is set. A reader needs no list of the fields, so one built
 * from another version of kaio reads it too.
 */
#ifndef KAIO_STATFILE_H
#define KAIO_STATFILE_H

#include <stdint.h>

#define KAIO_STATFILE_MAGIC "KAIOSTAT"
#define KAIO_STATFILE_VERSION 1u
#define KAIO_STATFILE_SIZE 4096u

struct kaio_statfile_field {
	char name[24];
	char text[24];
	uint64_t value;
};

struct kaio_statfile {
	char magic[8];
	uint32_t version;
	uint32_t seq;		/* odd while the fields are being written */
	uint32_t nfields;
	int32_t pid;
	uint64_t reserved[5];
	struct kaio_statfile_field f[];
};

#define KAIO_STATFILE_FIELDS                                                   \
	((KAIO_STATFILE_SIZE - sizeof(struct kaio_statfile)) /                 \
	 sizeof(struct kaio_statfile_field))

/* The library's side; the lock is held in all three. */
void kaio_statfile_open(void);
void kaio_statfile_sync(void);
void kaio_statfile_forget(void);
extern int kaio_statfile_tried;

#endif
