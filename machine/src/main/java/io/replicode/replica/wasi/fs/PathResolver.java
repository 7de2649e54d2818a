package io.replicode.replica.wasi.fs;

import io.replicode.replica.wasi.Errno;
import io.replicode.replica.wasi.WasiException;
import java.util.ArrayList;
import java.util.List;

/**
 * Resolves a guest path relative to a directory, WASI style, and keeps it inside that directory.
 *
 * <p>The directory a resolution starts from is its sandbox, as in wasmtime (cap-std) and the WASI path
 * resolution rules: "..", or a symlink, that would leave it fails with {@code NOTCAPABLE}. For a preopen
 * that is the preopen root; for a directory fd opened below it, that directory. Absolute paths fail with
 * {@code NOTCAPABLE}: wasi-libc resolves them against the preopens before calling the host.
 *
 * <p>Intermediate components follow symlinks; the last one only when asked. A trailing slash requires the
 * result to be a directory. One resolution expands at most {@value #MAX_SYMLINK_EXPANSIONS} symlinks
 * (Linux's MAXSYMLINKS), then fails with {@code LOOP}.
 */
final class PathResolver {
    static final int MAX_NAME_BYTES = 255;
    /** Linux's PATH_MAX (4096) less the NUL terminator. */
    static final int MAX_PATH_BYTES = 4095;
    static final int MAX_SYMLINK_EXPANSIONS = 40;

    /** What the last component of a path is: a name, or "." or ".." (which name no entry of their own). */
    enum Kind { NAMED, DOT, DOTDOT }

    /**
     * Where a path leads: the directory holding its last component, that component, and the node there
     * (null if none).
     *
     * @param mustBeDir the path (or the symlink it ended in) had a trailing slash
     */
    record Location(DirectoryNode parent, String name, Kind kind, Node node, boolean mustBeDir) {}

    private final DirectoryNode sandbox;
    private final String op;
    private final String path;
    private int expansions;

    private PathResolver(DirectoryNode sandbox, String op, String path) {
        this.sandbox = sandbox;
        this.op = op;
        this.path = path;
    }

    /** Finds where {@code path} leads from {@code start}; follows a symlink in the last place if asked. */
    static Location locate(DirectoryNode start, String path, boolean followLast, String op) {
        checkPath(path, op, path);
        if (path.isEmpty()) {
            throw new WasiException(Errno.NOENT, op + ": empty path");
        }
        return new PathResolver(start, op, path).walk(start, path, followLast);
    }

    /**
     * The node {@code path} names. A trailing slash follows a final symlink even without {@code follow}, as
     * on Linux, and requires a directory.
     */
    static Node lookup(DirectoryNode start, String path, boolean follow, String op) {
        Location at = locate(start, path, follow || path.endsWith("/"), op);
        if (at.node() == null) {
            throw new WasiException(Errno.NOENT, op + ": '" + path + "' does not exist");
        }
        if (at.mustBeDir() && !(at.node() instanceof DirectoryNode)) {
            throw new WasiException(Errno.NOTDIR, op + ": '" + path + "' is not a directory");
        }
        return at.node();
    }

    /** Checks what holds for any path or symlink target: bounded, no NUL, encodable, relative. */
    static void checkPath(String p, String op, String shownPath) {
        int bytes = Utf8.length(p);
        if (bytes < 0) {
            throw new WasiException(Errno.ILSEQ, op + ": '" + shownPath + "' is not valid Unicode");
        }
        if (bytes > MAX_PATH_BYTES) {
            throw new WasiException(Errno.NAMETOOLONG,
                    op + ": path of " + bytes + " bytes is longer than " + MAX_PATH_BYTES);
        }
        if (p.indexOf('\0') >= 0) {
            // What wasmtime answers for a NUL inside a path.
            throw new WasiException(Errno.ILSEQ, op + ": '" + shownPath + "' contains a NUL byte");
        }
        if (p.startsWith("/")) {
            throw new WasiException(Errno.NOTCAPABLE, op + ": '" + shownPath
                    + "' is absolute; paths are relative to a directory fd (wasi-libc resolves absolute"
                    + " paths against the preopens)");
        }
    }

    private Location walk(DirectoryNode from, String rest, boolean followLast) {
        DirectoryNode dir = from;
        boolean mustBeDir = false;
        while (true) {
            List<String> parts = split(rest);
            mustBeDir |= rest.endsWith("/");
            if (parts.isEmpty()) {
                // Only slashes: absolute paths were refused already, so this cannot happen.
                throw new WasiException(Errno.NOENT, op + ": '" + path + "' names nothing");
            }
            for (int i = 0; i < parts.size() - 1; i++) {
                dir = step(dir, parts.get(i));
            }
            String last = parts.get(parts.size() - 1);
            if (last.equals(".")) {
                return new Location(dir, last, Kind.DOT, dir, mustBeDir);
            }
            if (last.equals("..")) {
                DirectoryNode up = up(dir);
                return new Location(up, last, Kind.DOTDOT, up, mustBeDir);
            }
            checkName(last);
            Node node = dir.children.get(last);
            if (followLast && node instanceof SymlinkNode link) {
                rest = expand(link);
                continue; // resolved from the link's directory, which is still dir
            }
            return new Location(dir, last, Kind.NAMED, node, mustBeDir);
        }
    }

    /** Moves through one intermediate component, which must end up a directory. */
    private DirectoryNode step(DirectoryNode dir, String component) {
        if (component.equals(".")) {
            return dir;
        }
        if (component.equals("..")) {
            return up(dir);
        }
        checkName(component);
        Node node = dir.children.get(component);
        if (node instanceof SymlinkNode link) {
            node = walk(dir, expand(link), true).node();
        }
        if (node == null) {
            throw new WasiException(Errno.NOENT,
                    op + ": '" + path + "': component '" + component + "' does not exist");
        }
        if (!(node instanceof DirectoryNode next)) {
            throw new WasiException(Errno.NOTDIR,
                    op + ": '" + path + "': component '" + component + "' is not a directory");
        }
        return next;
    }

    private DirectoryNode up(DirectoryNode dir) {
        if (dir == sandbox) {
            throw new WasiException(Errno.NOTCAPABLE,
                    op + ": '" + path + "' leads above the directory it is resolved from");
        }
        // Every directory reached by walking down from the sandbox has a parent until the sandbox.
        assert dir.parent != null : "directory below the sandbox without a parent";
        return dir.parent;
    }

    private String expand(SymlinkNode link) {
        if (++expansions > MAX_SYMLINK_EXPANSIONS) {
            throw new WasiException(Errno.LOOP,
                    op + ": '" + path + "': more than " + MAX_SYMLINK_EXPANSIONS + " symlinks (a loop?)");
        }
        if (link.target.startsWith("/")) {
            throw new WasiException(Errno.NOTCAPABLE,
                    op + ": '" + path + "': symlink to absolute path '" + link.target + "'");
        }
        return link.target;
    }

    private void checkName(String name) {
        if (Utf8.length(name) > MAX_NAME_BYTES) {
            throw new WasiException(Errno.NAMETOOLONG,
                    op + ": '" + path + "': a component is longer than " + MAX_NAME_BYTES + " bytes");
        }
    }

    /** The non-empty components, "." and ".." kept (they are resolved in order). */
    static List<String> split(String p) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= p.length(); i++) {
            if (i == p.length() || p.charAt(i) == '/') {
                if (i > start) {
                    parts.add(p.substring(start, i));
                }
                start = i + 1;
            }
        }
        return parts;
    }
}
