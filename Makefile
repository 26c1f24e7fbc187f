# Convenience targets around SwiftPM. Release builds link the Swift runtime statically: one
# self-contained binary (only libfuse3 and libc are shared), which also starts twice as fast.
# `make install` puts the binary, stripped (12 -> 7 MB: fewer pages to read at a cold start),
# where mount(8) finds FUSE helpers (its fixed PATH includes /usr/local/bin) and the man page
# where man(1) finds it.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(DESTDIR)$(PREFIX)/bin
MANDIR := $(DESTDIR)$(PREFIX)/share/man/man1

.PHONY: all build test demo install uninstall

all: build

build:
	swift build -c release --static-swift-stdlib --product shiftoverlay

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

install: build
	install -d $(BINDIR) $(MANDIR)
	install -s -m 0755 "$$(swift build -c release --show-bin-path)/shiftoverlay" $(BINDIR)/shiftoverlay
	install -m 0644 man/shiftoverlay.1 $(MANDIR)/shiftoverlay.1

uninstall:
	rm -f $(BINDIR)/shiftoverlay $(MANDIR)/shiftoverlay.1
