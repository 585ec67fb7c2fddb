"""runlife.conformance: the kit that checks any run store against the spec, and the CLI."""
