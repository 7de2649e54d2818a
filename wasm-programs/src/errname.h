/* errname.h - symbolic names of WASI errno values. */
#ifndef ERRNAME_H
#define ERRNAME_H

/* "OK" for 0, "ENOENT", "ENOTCAPABLE", ... or the number as text. */
const char *errname(int err);

#endif
