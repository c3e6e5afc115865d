#!/bin/sh
# PLACEHOLDER, to be replaced by the man page generated from the options
# table (the same table as --help and the config file): a minimal
# wstrace(8) around the binary's --help, so that `make install` and the
# Debian package have a page to install until then.
#   mk/man-placeholder.sh WSTRACE VERSION > wstrace.8
set -eu
bin=$1 version=$2
cat <<ROFF
.TH WSTRACE 8 "" "wstrace $version" "System Administration"
.SH NAME
wstrace \- trace WebSocket servers from eBPF programs on the TC hooks
.SH SYNOPSIS
.B wstrace
[\fIOPTION\fR...]
.SH DESCRIPTION
wstrace decodes and counts the TCP handshakes, HTTP upgrades, WebSocket
frames and messages of the watched ports, live or from a capture file.
.SH OPTIONS
.nf
ROFF
# Literal text: escape backslashes and leading control characters.
"$bin" --help | sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/'
cat <<ROFF
.fi
.SH FILES
.TP
.I /etc/wstrace/wstrace.conf
settings of the service, one \fBkey = value\fR per line
.SH SEE ALSO
.BR systemctl (1)
ROFF
