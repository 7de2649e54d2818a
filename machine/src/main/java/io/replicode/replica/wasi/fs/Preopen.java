package io.replicode.replica.wasi.fs;

/** A preopened directory: the name the guest sees ({@code fd_prestat_dir_name}) and its root node. */
public record Preopen(String name, DirectoryNode root) {}
