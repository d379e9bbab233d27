"""A chain of blocks: entries bound to headers and signatures, exports, and the audit."""
