// System headers Swift's Glibc module does not export: epoll and eventfd.
#ifndef CSYSTEM_H
#define CSYSTEM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
