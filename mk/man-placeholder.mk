# PLACEHOLDER for `make man`, until the man page generated from the options
# table is merged: replace this file (and its include line in the Makefile)
# with that generator. Contract kept by both: `make man` writes
# $(BUILD)/wstrace.8, which `make install` and the Debian package install.
.PHONY: man
man: $(BUILD)/wstrace.8

$(BUILD)/wstrace.8: $(BUILD)/wstrace mk/man-placeholder.sh
	$(call msg,MAN,$@)
	$(Q)mk/man-placeholder.sh $(BUILD)/wstrace $(WSTRACE_VERSION) > $@
