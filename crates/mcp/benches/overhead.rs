//! Tool-call overhead of the MCP server over a direct SDK call (filled in below).
fn main() {}
