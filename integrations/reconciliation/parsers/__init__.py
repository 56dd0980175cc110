"""Pure statement parsers: bytes in, a list of `ParsedStatement` out (one per statement in the
file), or `ValidationFailed` naming the file, line and field. No database access here."""
