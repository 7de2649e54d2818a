# The Rust guests, included by Makefile: src/rust/NAME.rs builds into
# wasm/rust_NAME.wasm (asyncified by Makefile's `$(OUT)/%.wasm` rule, with the
# C guests' OPT_ASYNC) and wasm/rust_NAME.plain.wasm (without asyncify).
#
# Toolchain: Debian 12's rustc 1.63 with its wasm32-wasi std (packages rustc
# and libstd-rust-dev-wasm32; rustc links with its rust-lld, which is lld 14).
# One source file, standard library only, no cargo. RUSTC is that rustc by its
# full path: a rustup toolchain earlier in PATH would give other bytes.
#
# Only pattern rules here, so that including this file before Makefile's `all`
# leaves `all` the default goal. The `rust_` prefix belongs to these rules.

RUSTC := /usr/bin/rustc

RUST_GUESTS  := lines
RUST_OUTPUTS := $(RUST_GUESTS:%=$(OUT)/rust_%.wasm) $(RUST_GUESTS:%=$(OUT)/rust_%.plain.wasm)

# Reproducible whatever the directory: no debuginfo (-C debuginfo=0 for this
# crate, -C strip=debuginfo drops what Debian's std carries), one codegen unit,
# and the build directory remapped out of the paths that panic messages embed.
# rustc's link already puts the 1 MiB stack first (as -Wl,--stack-first does
# for the C guests), so a stack overflow traps below address 0.
RUSTFLAGS := --edition 2021 --crate-type bin --target wasm32-wasi \
             -C opt-level=2 -C codegen-units=1 -C debuginfo=0 -C strip=debuginfo \
             --remap-path-prefix=$(CURDIR)=.

$(BUILD)/rust_%.linked.wasm: src/rust/%.rs rust.mk | $(BUILD)
	$(RUSTC) $(RUSTFLAGS) --crate-name $* $< -o $@

# Without asyncify: the host runs it on a thread of its own, without snapshots.
$(OUT)/rust_%.plain.wasm: $(BUILD)/rust_%.linked.wasm | $(OUT)
	$(WASM_OPT) $(OPT_PLAIN) $< -o $@
