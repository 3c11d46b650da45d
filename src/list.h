/* Intrusive doubly linked lists: a node is embedded in its owner. */
#ifndef KAIO_LIST_H
#define KAIO_LIST_H

#include <stddef.h>

struct kaio_list {
	struct kaio_list *next, *prev;
};

#define KAIO_LIST_INIT(name) { &(name), &(name) }
#define kaio_container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

static inline void kaio_list_init(struct kaio_list *l)
{
	l->next = l->prev = l;
}

static inline int kaio_list_empty(const struct kaio_list *l)
{
	return l->next == l;
}

static inline void kaio_list_add_tail(struct kaio_list *head, struct kaio_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void kaio_list_add(struct kaio_list *head, struct kaio_list *n)
{
	kaio_list_add_tail(head->next, n);
}

/* Leaves the node self-linked, so deleting it twice is harmless. */
static inline void kaio_list_del(struct kaio_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

#define kaio_list_each_safe(pos, tmp, head) \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif
