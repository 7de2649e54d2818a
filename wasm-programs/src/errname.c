/* errname.c - WASI errno values to their symbolic names (wasi-libc numbering). */
#include "errname.h"

#include <errno.h>
#include <stdio.h>

static const char *const names[] = {
    [E2BIG] = "E2BIG",
    [EACCES] = "EACCES",
    [EADDRINUSE] = "EADDRINUSE",
    [EADDRNOTAVAIL] = "EADDRNOTAVAIL",
    [EAFNOSUPPORT] = "EAFNOSUPPORT",
    [EAGAIN] = "EAGAIN",
    [EALREADY] = "EALREADY",
    [EBADF] = "EBADF",
    [EBADMSG] = "EBADMSG",
    [EBUSY] = "EBUSY",
    [ECANCELED] = "ECANCELED",
    [ECHILD] = "ECHILD",
    [ECONNABORTED] = "ECONNABORTED",
    [ECONNREFUSED] = "ECONNREFUSED",
    [ECONNRESET] = "ECONNRESET",
    [EDEADLK] = "EDEADLK",
    [EDESTADDRREQ] = "EDESTADDRREQ",
    [EDOM] = "EDOM",
    [EDQUOT] = "EDQUOT",
    [EEXIST] = "EEXIST",
    [EFAULT] = "EFAULT",
    [EFBIG] = "EFBIG",
    [EHOSTUNREACH] = "EHOSTUNREACH",
    [EIDRM] = "EIDRM",
    [EILSEQ] = "EILSEQ",
    [EINPROGRESS] = "EINPROGRESS",
    [EINTR] = "EINTR",
    [EINVAL] = "EINVAL",
    [EIO] = "EIO",
    [EISCONN] = "EISCONN",
    [EISDIR] = "EISDIR",
    [ELOOP] = "ELOOP",
    [EMFILE] = "EMFILE",
    [EMLINK] = "EMLINK",
    [EMSGSIZE] = "EMSGSIZE",
    [EMULTIHOP] = "EMULTIHOP",
    [ENAMETOOLONG] = "ENAMETOOLONG",
    [ENETDOWN] = "ENETDOWN",
    [ENETRESET] = "ENETRESET",
    [ENETUNREACH] = "ENETUNREACH",
    [ENFILE] = "ENFILE",
    [ENOBUFS] = "ENOBUFS",
    [ENODEV] = "ENODEV",
    [ENOENT] = "ENOENT",
    [ENOEXEC] = "ENOEXEC",
    [ENOLCK] = "ENOLCK",
    [ENOLINK] = "ENOLINK",
    [ENOMEM] = "ENOMEM",
    [ENOMSG] = "ENOMSG",
    [ENOPROTOOPT] = "ENOPROTOOPT",
    [ENOSPC] = "ENOSPC",
    [ENOSYS] = "ENOSYS",
    [ENOTCONN] = "ENOTCONN",
    [ENOTDIR] = "ENOTDIR",
    [ENOTEMPTY] = "ENOTEMPTY",
    [ENOTRECOVERABLE] = "ENOTRECOVERABLE",
    [ENOTSOCK] = "ENOTSOCK",
    [ENOTSUP] = "ENOTSUP",
    [ENOTTY] = "ENOTTY",
    [ENXIO] = "ENXIO",
    [EOVERFLOW] = "EOVERFLOW",
    [EOWNERDEAD] = "EOWNERDEAD",
    [EPERM] = "EPERM",
    [EPIPE] = "EPIPE",
    [EPROTO] = "EPROTO",
    [EPROTONOSUPPORT] = "EPROTONOSUPPORT",
    [EPROTOTYPE] = "EPROTOTYPE",
    [ERANGE] = "ERANGE",
    [EROFS] = "EROFS",
    [ESPIPE] = "ESPIPE",
    [ESRCH] = "ESRCH",
    [ESTALE] = "ESTALE",
    [ETIMEDOUT] = "ETIMEDOUT",
    [ETXTBSY] = "ETXTBSY",
    [EXDEV] = "EXDEV",
    [ENOTCAPABLE] = "ENOTCAPABLE",
};

/* Returns "OK" for 0, the symbolic name of a known errno value, or the
 * decimal number.  The returned string stays valid until the next call. */
const char *errname(int err) {
    static char buf[16];
    if (err == 0)
        return "OK";
    if (err > 0 && (size_t)err < sizeof names / sizeof names[0] && names[err])
        return names[err];
    snprintf(buf, sizeof buf, "%d", err);
    return buf;
}
