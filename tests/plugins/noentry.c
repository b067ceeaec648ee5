/* A library named like a plugin that exports no entry symbol. */
__attribute__((visibility("default"))) int anbn_something_else(void) { return 42; }
